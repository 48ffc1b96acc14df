// Imports and exports books with openapi-fetch, typed by the paths that
// openapi-typescript generates from the API schema into ./openapi.d.ts
// (generated at test time, never committed). docs/frontend.md shows this
// code; tests/clients/test_ts_client.py compiles it with tsc and runs it
// against a live server and a real worker.
//
// Usage: node dist/fetch-flow.js import|export
// Environment: API_URL, API_USERNAME, API_PASSWORD; IMPORT_FILE for "import".
// Prints one JSON object with what the API answered.

import { readFileSync } from "node:fs";
import { basename } from "node:path";

import createClient from "openapi-fetch";

import type { components, paths } from "./openapi";

type ImportJob = components["schemas"]["BookImportJob"];
type ExportJob = components["schemas"]["BookExportJob"];

// --8<-- [start:fetch-client]
const credentials = Buffer.from(
  `${process.env.API_USERNAME}:${process.env.API_PASSWORD}`,
).toString("base64");
const api = createClient<paths>({
  baseUrl: process.env.API_URL,
  headers: { Authorization: `Basic ${credentials}` },
});
// --8<-- [end:fetch-client]

async function wait<T extends { id: number; status: string }>(
  fetchJob: () => Promise<T>,
  statuses: string[],
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await fetchJob();
    if (statuses.includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${job.id} is still ${job.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// --8<-- [start:fetch-import]
async function importBooks(file: File) {
  // openapi-typescript types a binary field as a string (and fields with a
  // default as required): bodySerializer builds the form with the File itself.
  const created = await api.POST("/api/books/imports/", {
    body: { file: file.name, skip_parse_step: false, skip_invalid_rows: false },
    bodySerializer: (body) => {
      const form = new FormData();
      form.append("file", file);
      form.append("skip_parse_step", String(body.skip_parse_step));
      form.append("skip_invalid_rows", String(body.skip_invalid_rows));
      return form;
    },
  });
  if (!created.data) throw new Error(`upload: ${JSON.stringify(created.error)}`);
  const id = created.data.id;
  const fetchJob = async (): Promise<ImportJob> => {
    const { data, error } = await api.GET("/api/books/imports/{id}/", {
      params: { path: { id } },
    });
    if (!data) throw new Error(JSON.stringify(error));
    return data;
  };
  const parsed = await wait(fetchJob, ["input_error"]);
  // The whole error report, as a Blob.
  const report = await api.GET("/api/books/imports/{id}/errors/file/", {
    params: { path: { id } },
    parseAs: "blob",
  });
  if (!report.data) throw new Error(JSON.stringify(report.error));
  const confirm = await api.POST("/api/books/imports/{id}/confirm/", {
    params: { path: { id } },
  });
  return {
    parsed,
    report: await report.data.text(),
    confirmStatus: confirm.response.status,
    conflict: confirm.error,
  };
}
// --8<-- [end:fetch-import]

// --8<-- [start:fetch-export]
async function exportBooks() {
  const created = await api.POST("/api/books/exports/", {
    body: { file_format: "csv", filters: { in_stock: true }, ordering: ["-price"] },
  });
  if (!created.data) throw new Error(JSON.stringify(created.error));
  const id = created.data.id;
  const fetchJob = async (): Promise<ExportJob> => {
    const { data, error } = await api.GET("/api/books/exports/{id}/", {
      params: { path: { id } },
    });
    if (!data) throw new Error(JSON.stringify(error));
    return data;
  };
  const job = await wait(fetchJob, ["exported"]);
  const download = await api.GET("/api/books/exports/{id}/download/", {
    params: { path: { id } },
    parseAs: "blob",
    headers: { Accept: "text/csv" },
  });
  if (!download.data) throw new Error(JSON.stringify(download.error));
  const file: Blob = download.data;
  return {
    job,
    disposition: download.response.headers.get("Content-Disposition"),
    content: await file.text(),
  };
}
// --8<-- [end:fetch-export]

async function main(command: string): Promise<unknown> {
  switch (command) {
    case "import": {
      const path = process.env.IMPORT_FILE ?? "";
      return importBooks(new File([readFileSync(path)], basename(path), { type: "text/csv" }));
    }
    case "export":
      return exportBooks();
    default:
      throw new Error(`unknown command ${command}: use import or export`);
  }
}

main(process.argv[2] ?? "").then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
