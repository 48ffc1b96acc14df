// Imports and exports books through the SDK that @hey-api/openapi-ts
// generates from the API schema into ./client (generated at test time, never
// committed). docs/clients.md shows this code; tests/clients/test_ts_client.py
// compiles it with tsc and runs it against a live server and a real worker.
//
// Usage: node dist/client-flow.js import|export|cancel
// Environment: API_URL, API_USERNAME, API_PASSWORD; IMPORT_FILE for "import".
// Prints one JSON object with what the API answered.

import { readFileSync } from "node:fs";
import { basename } from "node:path";

import {
  booksExportsCancelCreate,
  booksExportsCreate,
  booksExportsDownloadRetrieve,
  booksExportsRetrieve,
  booksImportsCancelCreate,
  booksImportsConfirmCreate,
  booksImportsCreate,
  booksImportsRetrieve,
} from "./client";
import { client } from "./client/client.gen";

const FINISHED = new Set([
  "parsed", "input_error", "parse_error", "imported", "import_error",
  "exported", "export_error", "cancelled",
]);

// --8<-- [start:client]
client.setConfig({
  baseUrl: process.env.API_URL,
  // Called for each security scheme of an operation: HTTP Basic gets
  // "user:password"; the session cookie scheme gets nothing.
  auth: (scheme) =>
    scheme.scheme === "basic"
      ? `${process.env.API_USERNAME}:${process.env.API_PASSWORD}`
      : undefined,
});
// --8<-- [end:client]

// --8<-- [start:poll]
async function wait<T extends { id: number; status: string }>(
  fetchJob: () => Promise<T>,
  statuses: string[],
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await fetchJob();
    if (statuses.includes(job.status)) return job;
    if (FINISHED.has(job.status) || Date.now() > deadline) {
      throw new Error(`job ${job.id} is ${job.status}, expected ${statuses.join(" or ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
// --8<-- [end:poll]

// --8<-- [start:import]
// throwOnError: true makes any status but a success throw, so `data` is the
// parsed body of the success.
async function importBooks(file: File) {
  const created = await booksImportsCreate({ body: { file }, throwOnError: true });
  const id = created.data.id;
  const fetchJob = async () =>
    (await booksImportsRetrieve({ path: { id }, throwOnError: true })).data;
  const parsed = await wait(fetchJob, ["parsed"]);
  console.error("dry run:", parsed.totals); // e.g. { new: 3, update: 0, ... }
  const confirmed = await booksImportsConfirmCreate({ path: { id }, throwOnError: true });
  const imported = await wait(fetchJob, ["imported"]);
  return { parsed, confirmStatus: confirmed.response.status, imported };
}
// --8<-- [end:import]

// --8<-- [start:export]
async function exportBooks(filters: Record<string, unknown>) {
  const created = await booksExportsCreate({
    body: { file_format: "csv", filters, ordering: ["-price"] },
    throwOnError: true,
  });
  const id = created.data.id;
  const fetchJob = async () =>
    (await booksExportsRetrieve({ path: { id }, throwOnError: true })).data;
  const job = await wait(fetchJob, ["exported"]);
  const download = await booksExportsDownloadRetrieve({
    path: { id },
    parseAs: "text",
    throwOnError: true,
  });
  return {
    job,
    disposition: download.response.headers.get("Content-Disposition"),
    content: download.data as unknown as string,
  };
}
// --8<-- [end:export]

// --8<-- [start:conflict]
async function cancelExport(id: number) {
  // Without throwOnError, an error status gives its parsed body as `error`.
  const { data, error, response } = await booksExportsCancelCreate({ path: { id } });
  if (error && "status" in error) console.error("too late, the job is", error.status);
  return { httpStatus: response.status, job: data, conflict: error };
}
// --8<-- [end:conflict]

// While no worker picks up the jobs (the test pauses it), the jobs stay
// "created": the download is not ready yet, both cancels succeed, and a
// cancelled job can be neither confirmed nor cancelled again.
async function cancelScenario() {
  const exportJob = (
    await booksExportsCreate({ body: { file_format: "csv" }, throwOnError: true })
  ).data;
  const early = await booksExportsDownloadRetrieve({ path: { id: exportJob.id } });
  const firstCancel = await cancelExport(exportJob.id);
  const secondCancel = await cancelExport(exportJob.id);

  const file = new File(["isbn,title\n"], "late.csv", { type: "text/csv" });
  const importJob = (await booksImportsCreate({ body: { file }, throwOnError: true })).data;
  const importCancel = await booksImportsCancelCreate({ path: { id: importJob.id } });
  const confirm = await booksImportsConfirmCreate({ path: { id: importJob.id } });
  return {
    exportCreated: exportJob,
    earlyDownload: { httpStatus: early.response.status, conflict: early.error },
    firstCancel,
    secondCancel,
    importCancel: { httpStatus: importCancel.response.status, job: importCancel.data },
    confirm: { httpStatus: confirm.response.status, conflict: confirm.error },
  };
}

async function main(command: string): Promise<unknown> {
  switch (command) {
    case "import": {
      const path = process.env.IMPORT_FILE ?? "";
      const file = new File([readFileSync(path)], basename(path), { type: "text/csv" });
      return importBooks(file);
    }
    case "export":
      return exportBooks({ in_stock: true });
    case "cancel":
      return cancelScenario();
    default:
      throw new Error(`unknown command ${command}: use import, export or cancel`);
  }
}

main(process.argv[2] ?? "").then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
