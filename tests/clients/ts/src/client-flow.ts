// Imports and exports books through the SDK that @hey-api/openapi-ts
// generates from the API schema into ./client (generated at test time, never
// committed). docs/frontend.md shows this code; tests/clients/test_ts_client.py
// compiles it with tsc and runs it against a live server and a real worker.
//
// Usage: node dist/client-flow.js import|revert|export|cancel|mapping|events
// Environment: API_URL, API_USERNAME, API_PASSWORD; IMPORT_FILE for "import",
// "revert" and "events"; IMPORT_FILE, SECOND_FILE and COLUMN_MAPPING (JSON) for "mapping".
// Prints one JSON object with what the API answered.

import { readFileSync } from "node:fs";
import { basename } from "node:path";

import {
  bookExportsCancel,
  bookExportsCreate,
  bookExportsDownload,
  bookExportsRetrieve,
  bookImportsCancel,
  bookImportsConfirm,
  bookImportsCreate,
  bookImportsEvents,
  bookImportsMappingsList,
  bookImportsReparse,
  bookImportsRetrieve,
  bookImportsRevert,
} from "./client";
import type {
  BookExportFilters,
  BookImportJob,
  ImportJobEvent,
  JobWebhookPayload,
} from "./client";
import { client } from "./client/client.gen";

const FINISHED = new Set([
  "parsed", "input_error", "parse_error", "imported", "import_error",
  "exported", "export_error", "cancelled", "reverted", "revert_error",
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
// Poll until the job reaches one of `statuses`; `onPoll` sees every answer.
async function wait<T extends { id: number; status: string }>(
  fetchJob: () => Promise<T>,
  statuses: string[],
  onPoll: (job: T) => void = () => {},
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await fetchJob();
    onPoll(job);
    if (statuses.includes(job.status)) return job;
    if (FINISHED.has(job.status) || Date.now() > deadline) {
      throw new Error(`job ${job.id} is ${job.status}, expected ${statuses.join(" or ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
// --8<-- [end:poll]

// --8<-- [start:progress]
// A <progress> element, or anything with the same three properties.
type ProgressBar = Pick<HTMLProgressElement, "value" | "max" | "textContent">;

// Show a job's progress: percent is null while the total is unknown.
function showProgress(bar: ProgressBar, job: BookImportJob) {
  const percent = job.progress.percent;
  bar.max = 100;
  bar.value = percent ?? 0;
  bar.textContent = percent === null ? job.status : `${job.status}: ${percent}%`;
}
// --8<-- [end:progress]

// --8<-- [start:import]
// throwOnError: true makes any status but a success throw, so `data` is the
// parsed body of the success.
async function importBooks(file: File, bar: ProgressBar) {
  const created = await bookImportsCreate({ body: { file }, throwOnError: true });
  const id = created.data.id;
  const fetchJob = async () =>
    (await bookImportsRetrieve({ path: { id }, throwOnError: true })).data;
  const update = (job: BookImportJob) => showProgress(bar, job);
  const parsed = await wait(fetchJob, ["parsed"], update);
  console.error("dry run:", parsed.totals); // e.g. { new: 3, update: 0, ... }
  const confirmed = await bookImportsConfirm({ path: { id }, throwOnError: true });
  const imported = await wait(fetchJob, ["imported"], update);
  return { parsed, confirmStatus: confirmed.response.status, imported };
}
// --8<-- [end:import]

// --8<-- [start:mapping]
// A file whose headers are not the resource's: show the dry run's
// suggestions, parse it again with a mapping (saved for the next file with
// the same headers), then confirm.
async function importWithMapping(file: File, mapping: Record<string, string>) {
  const created = await bookImportsCreate({ body: { file }, throwOnError: true });
  const id = created.data.id;
  const fetchJob = async () =>
    (await bookImportsRetrieve({ path: { id }, throwOnError: true })).data;
  const firstRun = await wait(fetchJob, ["parsed", "input_error", "parse_error"]);
  const suggestions: Record<string, string> = {};
  for (const column of firstRun.columns?.headers ?? []) {
    if (column.suggestion) suggestions[column.header] = column.suggestion.field;
  }
  const reparsed = await bookImportsReparse({
    path: { id },
    body: { column_mapping: mapping, save_mapping: true, mapping_name: "shop export" },
    throwOnError: true,
  });
  const parsed = await wait(fetchJob, ["parsed"]);
  await bookImportsConfirm({ path: { id }, throwOnError: true });
  const imported = await wait(fetchJob, ["imported"]);
  return { firstRun, suggestions, reparseStatus: reparsed.response.status, parsed, imported };
}
// --8<-- [end:mapping]

async function mappingScenario(first: File, second: File, mapping: Record<string, string>) {
  const result = await importWithMapping(first, mapping);
  const saved = (await bookImportsMappingsList({ throwOnError: true })).data;
  // A second file of the same shape: the saved mapping applies by itself.
  const created = await bookImportsCreate({ body: { file: second }, throwOnError: true });
  const id = created.data.id;
  const fetchJob = async () =>
    (await bookImportsRetrieve({ path: { id }, throwOnError: true })).data;
  const secondParsed = await wait(fetchJob, ["parsed"]);
  await bookImportsConfirm({ path: { id }, throwOnError: true });
  const secondImported = await wait(fetchJob, ["imported"]);
  return { ...result, saved, secondParsed, secondImported };
}

// --8<-- [start:revert]
// Undo an imported job: new rows are deleted, updated rows restored. Rows
// somebody changed since the import are kept and listed in `revert.rows`.
async function revertImport(id: number) {
  const requested = await bookImportsRevert({ path: { id }, throwOnError: true });
  const fetchJob = async () =>
    (await bookImportsRetrieve({ path: { id }, throwOnError: true })).data;
  const reverted = await wait(fetchJob, ["reverted"]);
  console.error("revert:", reverted.revert?.totals); // { reverted: 3, kept: 0, failed: 0 }
  // A second revert is refused: 409 with the job's status.
  const again = await bookImportsRevert({ path: { id } });
  return {
    requestStatus: requested.response.status,
    reverted,
    again: { httpStatus: again.response.status, conflict: again.error },
  };
}
// --8<-- [end:revert]

// --8<-- [start:export]
async function exportBooks(filters: BookExportFilters) {
  const created = await bookExportsCreate({
    body: { file_format: "csv", filters, ordering: ["-price"] },
    throwOnError: true,
  });
  const id = created.data.id;
  const fetchJob = async () =>
    (await bookExportsRetrieve({ path: { id }, throwOnError: true })).data;
  const job = await wait(fetchJob, ["exported"]);
  // The file is a Blob (application/octet-stream), whatever its format.
  const download = await bookExportsDownload({ path: { id }, throwOnError: true });
  return {
    job,
    disposition: download.response.headers.get("Content-Disposition"),
    content: await download.data.text(),
  };
}
// --8<-- [end:export]

// --8<-- [start:conflict]
async function cancelExport(id: number) {
  // Without throwOnError, an error status gives its parsed body as `error`.
  const { data, error, response } = await bookExportsCancel({ path: { id } });
  if (error && "status" in error) console.error("too late, the job is", error.status);
  return { httpStatus: response.status, job: data, conflict: error };
}
// --8<-- [end:conflict]

// --8<-- [start:events]
// A final status: the event stream ends there.
const FINAL = new Set(["input_error", "parse_error", "imported", "import_error", "cancelled"]);

// Follow an import's Server-Sent Events (GET .../events/): `onEvent` gets
// each status change and progress write as the schema's ImportJobEvent. The
// server ends a response after EVENTS_MAX_SECONDS: open it again after the
// last event received (?last_event_id=), until the job is final.
async function followImport(
  id: number,
  onEvent: (event: ImportJobEvent) => Promise<void> | void,
): Promise<void> {
  let lastEventId: number | undefined;
  for (;;) {
    let failed = false;
    const { stream } = await bookImportsEvents({
      path: { id },
      query: lastEventId === undefined ? undefined : { last_event_id: lastEventId },
      sseMaxRetryAttempts: 1,
      onSseError: () => {
        failed = true; // 204 (nothing left), 404, a network error...
      },
    });
    for await (const event of stream) {
      if (!event) continue;
      if (event.id !== null) lastEventId = event.id;
      await onEvent(event);
      if (event.event === "status" && FINAL.has(event.status)) return;
    }
    if (failed) {
      const job = (await bookImportsRetrieve({ path: { id }, throwOnError: true })).data;
      if (FINAL.has(job.status)) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}
// --8<-- [end:events]

// Upload a file, follow its events, confirm once parsed.
async function importFollowingEvents(file: File) {
  const created = await bookImportsCreate({ body: { file }, throwOnError: true });
  const id = created.data.id;
  const events: ImportJobEvent[] = [];
  await followImport(id, async (event) => {
    events.push(event);
    if (event.event === "status" && event.status === "parsed") {
      await bookImportsConfirm({ path: { id }, throwOnError: true });
    }
  });
  return { id, events };
}

// What a webhook receiver gets (the schema's JobWebhookPayload).
function describeWebhook(payload: JobWebhookPayload): string {
  const { job } = payload;
  return `${job.kind} ${job.id}: ${job.previous_status ?? "?"} -> ${job.status}`;
}

// While no worker picks up the jobs (the test pauses it), the jobs stay
// "created": the download is not ready yet, both cancels succeed, and a
// cancelled job can be neither confirmed nor cancelled again.
async function cancelScenario() {
  const exportJob = (
    await bookExportsCreate({ body: { file_format: "csv" }, throwOnError: true })
  ).data;
  const early = await bookExportsDownload({ path: { id: exportJob.id } });
  const firstCancel = await cancelExport(exportJob.id);
  const secondCancel = await cancelExport(exportJob.id);

  const file = new File(["isbn,title\n"], "late.csv", { type: "text/csv" });
  const importJob = (await bookImportsCreate({ body: { file }, throwOnError: true })).data;
  const importCancel = await bookImportsCancel({ path: { id: importJob.id } });
  const confirm = await bookImportsConfirm({ path: { id: importJob.id } });
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
      // Node.js has no DOM: a stand-in for the <progress> element records
      // every text it shows.
      const shown: string[] = [];
      const bar = {
        value: 0,
        max: 0,
        get textContent() {
          return shown[shown.length - 1] ?? "";
        },
        set textContent(text: string) {
          shown.push(text);
        },
      };
      const result = await importBooks(file, bar);
      return { ...result, progressBar: { value: bar.value, max: bar.max, shown } };
    }
    case "revert": {
      const path = process.env.IMPORT_FILE ?? "";
      const file = new File([readFileSync(path)], basename(path), { type: "text/csv" });
      const bar = { value: 0, max: 0, textContent: "" };
      const { imported } = await importBooks(file, bar);
      return { imported, ...(await revertImport(imported.id)) };
    }
    case "export":
      return exportBooks({ in_stock: true });
    case "cancel":
      return cancelScenario();
    case "mapping": {
      const read = (path: string) =>
        new File([readFileSync(path)], basename(path), { type: "text/csv" });
      const mapping = JSON.parse(process.env.COLUMN_MAPPING ?? "{}") as Record<string, string>;
      return mappingScenario(
        read(process.env.IMPORT_FILE ?? ""),
        read(process.env.SECOND_FILE ?? ""),
        mapping,
      );
    }
    case "events": {
      const path = process.env.IMPORT_FILE ?? "";
      const file = new File([readFileSync(path)], basename(path), { type: "text/csv" });
      const result = await importFollowingEvents(file);
      const last = result.events[result.events.length - 1];
      const webhook: JobWebhookPayload = {
        event: "job.status_changed",
        created_at: last?.created_at ?? "",
        job: {
          model: "drf_import_export_jobs.ImportJob",
          id: result.id,
          kind: "import",
          resource: "tests.testapp.resources.BookResource",
          status: last?.status ?? "",
          previous_status: null,
          progress: last?.progress ?? { current: 0, total: null },
          error_message: "",
        },
      };
      return { ...result, webhook: describeWebhook(webhook) };
    }
    default:
      throw new Error(`unknown command ${command}: use import, revert, export, cancel, mapping or events`);
  }
}

main(process.argv[2] ?? "").then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
