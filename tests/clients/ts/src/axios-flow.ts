// Imports and exports books with the client that openapi-generator's
// typescript-axios generator writes from the API schema into ./axios-client
// (generated at test time, never committed). docs/frontend.md shows this
// code; tests/clients/test_axios_client.py compiles it with tsc and runs it
// against a live server and a real worker.
//
// Usage: node dist/axios-flow.js import|import-errors|export
// Environment: API_URL, API_USERNAME, API_PASSWORD; IMPORT_FILE for the imports.
// Prints one JSON object with what the API answered.

import { readFileSync } from "node:fs";
import { basename } from "node:path";

import axios, { isAxiosError } from "axios";

import { BooksApi, Configuration } from "./axios-client";
import type {
  BookExportFilters,
  BookExportJob,
  BookImportJob,
  ImportJobStatusConflict,
} from "./axios-client";

// --8<-- [start:axios-client]
// One BooksApi per resource tag. The fetch adapter gives downloads as a Blob
// in Node.js too (a browser's default adapter does so already).
const api = new BooksApi(
  new Configuration({
    basePath: process.env.API_URL,
    username: process.env.API_USERNAME,
    password: process.env.API_PASSWORD,
  }),
  undefined,
  axios.create({ adapter: "fetch" }),
);
// --8<-- [end:axios-client]

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

const fetchImport = (id: number) => async (): Promise<BookImportJob> =>
  (await api.bookImportsRetrieve(id)).data;

// --8<-- [start:axios-import]
// axios rejects any status but a 2xx: the 409's body is the error's
// response.data, with the job's current status.
async function confirm(id: number) {
  try {
    const { status, data } = await api.bookImportsConfirm(id);
    return { httpStatus: status, job: data };
  } catch (error) {
    if (isAxiosError<ImportJobStatusConflict>(error) && error.response?.status === 409) {
      return { httpStatus: 409, conflict: error.response.data };
    }
    throw error;
  }
}

async function importWithErrors(file: File) {
  const { data: created } = await api.bookImportsCreate(file);
  const parsed = await wait(fetchImport(created.id), ["parsed", "input_error"]);
  // Every row error, a page at a time (JSON), and the same as a CSV file.
  const { data: page } = await api.bookImportsErrors(created.id, 1);
  // The file routes need responseType "blob": the generated code leaves the
  // response type to the caller. `data` is typed as a File (a Blob).
  const report = await api.bookImportsErrorsFile(created.id, { responseType: "blob" });
  const blob: Blob = report.data;
  return {
    parsed,
    errors: page,
    report: await blob.text(),
    reportIsBlob: blob instanceof Blob,
    confirm: await confirm(created.id),
  };
}
// --8<-- [end:axios-import]

async function importBooks(file: File) {
  const { data: created } = await api.bookImportsCreate(file, "csv", false, false);
  const parsed = await wait(fetchImport(created.id), ["parsed"]);
  const confirmed = await confirm(created.id);
  const imported = await wait(fetchImport(created.id), ["imported"]);
  return { parsed, confirm: confirmed, imported };
}

// --8<-- [start:axios-export]
async function exportBooks(filters: BookExportFilters) {
  const { data: created } = await api.bookExportsCreate({
    file_format: "csv",
    filters,
    ordering: ["-price"],
  });
  const fetchJob = async (): Promise<BookExportJob> =>
    (await api.bookExportsRetrieve(created.id)).data;
  const job = await wait(fetchJob, ["exported"]);
  const download = await api.bookExportsDownload(job.id, { responseType: "blob" });
  const file: Blob = download.data;
  return {
    job,
    disposition: download.headers["content-disposition"],
    content: await file.text(),
    isBlob: file instanceof Blob,
  };
}
// --8<-- [end:axios-export]

function readFile(): File {
  const path = process.env.IMPORT_FILE ?? "";
  return new File([readFileSync(path)], basename(path), { type: "text/csv" });
}

async function main(command: string): Promise<unknown> {
  switch (command) {
    case "import":
      return importBooks(readFile());
    case "import-errors":
      return importWithErrors(readFile());
    case "export":
      return exportBooks({ in_stock: true });
    default:
      throw new Error(`unknown command ${command}: use import, import-errors or export`);
  }
}

main(process.argv[2] ?? "").then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
