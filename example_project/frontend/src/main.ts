// The page at /app/: sign in, import books (upload, dry run, review,
// confirm), export them (filters, format, download). Every API call goes
// through the SDK generated from the schema into ./client (`make frontend`).

import "./app.css";

import {
  bookExportsCancel,
  bookExportsCreate,
  bookExportsDownload,
  bookExportsEvents,
  bookExportsRetrieve,
  bookImportsCancel,
  bookImportsConfirm,
  bookImportsCreate,
  bookImportsDelete,
  bookImportsErrorsFile,
  bookImportsEvents,
  bookImportsRetrieve,
} from "./client";
import type {
  BookExportFilters,
  BookExportFormatEnum,
  BookExportJob,
  BookImportJob,
  ImportJobTotals,
} from "./client";
import {
  filenameOf,
  follow,
  messages,
  saveBlob,
  signedInAs,
  signIn,
  signOut,
  type JobEvent,
  type Watch,
} from "./api";

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

function show(id: string, visible: boolean): void {
  $(id).hidden = !visible;
}

// What a person reads for each status.
const LABELS: Record<string, string> = {
  created: "waiting for a worker",
  parsing: "checking the file (dry run)",
  parsed: "checked: ready to import",
  input_error: "checked: some rows have errors",
  parse_error: "the file could not be read",
  import_confirmed: "confirmed, waiting for a worker",
  importing: "importing",
  imported: "imported",
  import_error: "the import failed",
  exporting: "exporting",
  exported: "ready to download",
  export_error: "the export failed",
  cancelled: "cancelled",
};

const label = (status: string) => LABELS[status] ?? status;

// A failed call: a 401 signs out (the token is no longer valid), a 409 says
// what the job is now, anything else shows the API's message.
function explain(response: Response | undefined, error: unknown, conflict: string): string {
  if (!response) return "The server could not be reached. Try again.";
  if (response.status === 401) {
    signOut();
    render();
    $("signin-message").textContent = "You were signed out: sign in again.";
    return "";
  }
  if (response.status === 409 && error && typeof error === "object" && "status" in error) {
    return `${conflict}: meanwhile the job became “${label(String(error.status))}”.`;
  }
  return messages(error);
}

// -- sign in ------------------------------------------------------------------

function render(): void {
  const user = signedInAs();
  show("signin", user === null);
  show("signed-in", user !== null);
  show("import", user !== null);
  show("export", user !== null);
  $("who").textContent = user ?? "";
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  const data = new FormData(form);
  const failure = await signIn(String(data.get("username")), String(data.get("password")));
  $("signin-message").textContent = failure ?? "";
  if (!failure) form.reset();
  render();
});

$("signout").addEventListener("click", () => {
  signOut();
  importWatch?.stop();
  exportWatch?.stop();
  render();
});

// -- import -------------------------------------------------------------------

let importJob: BookImportJob | null = null;
let importWatch: Watch | null = null;

// --8<-- [start:progress]
// percent is null while the total is unknown: the bar then shows activity.
function showProgress(bar: HTMLProgressElement, percent: number | null): void {
  if (percent === null) bar.removeAttribute("value");
  else bar.value = percent;
}

// A progress event moves the bar at once; the job is read again at each
// status change.
function showEventProgress(bar: HTMLProgressElement, event: JobEvent): void {
  const { current, total } = event.progress;
  showProgress(bar, total ? Math.min(100, Math.floor((current * 100) / total)) : null);
}
// --8<-- [end:progress]

function totalsRows(totals: ImportJobTotals): string {
  const names: [keyof ImportJobTotals, string][] = [
    ["new", "New"], ["update", "Updated"], ["skip", "Unchanged"],
    ["delete", "Deleted"], ["invalid", "Invalid"], ["error", "Errors"],
  ];
  return names
    .map(([key, name]) => `<tr><th scope="row">${name}</th><td data-total="${key}">${totals[key]}</td></tr>`)
    .join("");
}

function escape(text: string): string {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}

function showImport(job: BookImportJob): void {
  importJob = job;
  const { status } = job;
  show("import-job", true);
  show("import-form", false);
  $("import-file-name").textContent = job.original_filename;
  $("import-status").textContent = label(status);
  $("import-status").dataset.status = status;
  showProgress($<HTMLProgressElement>("import-progress"), job.progress.percent);
  show("import-progress", !["parse_error", "cancelled", "input_error"].includes(status));

  // totals is null until a dry run has counted rows. (The schema says so with
  // a nullable oneOf, which the SDK's type leaves out.)
  const totals: ImportJobTotals | null = job.totals;
  const reviewed = ["parsed", "input_error", "import_confirmed", "importing", "imported"];
  show("import-totals", totals !== null && reviewed.includes(status));
  $("import-totals").querySelector("tbody")!.innerHTML = totals ? totalsRows(totals) : "";

  show("import-errors", job.errors.length > 0);
  $("import-errors").querySelector("tbody")!.innerHTML = job.errors
    .map((e) => `<tr><td>${e.row ?? ""}</td><td>${escape(e.field ?? "")}</td><td>${escape(e.message)}</td></tr>`)
    .join("");
  const more = job.error_count - job.errors.length;
  $("import-errors-more").textContent = more > 0 ? `and ${more} more in the report.` : "";

  const hints: Record<string, string> = {
    parsed: "Nothing is written yet. Review the totals, then confirm the import.",
    input_error: "Nothing was written. Fix these rows and upload the file again.",
    parse_error: job.error_message,
    imported: "Done: the books are saved.",
    import_error: `Nothing was written. ${job.error_message}`,
    cancelled: "Nothing was imported.",
  };
  $("import-hint").textContent = hints[status] ?? "";
  show("import-confirm", status === "parsed");
  show("import-discard", status === "parsed" || status === "input_error");
  show("import-cancel", ["created", "parsing", "import_confirmed", "importing"].includes(status));
  show("import-again", ["input_error", "parse_error", "imported", "import_error", "cancelled"].includes(status));
}

// --8<-- [start:follow]
function watchImport(id: number): void {
  importWatch?.stop();
  importWatch = follow(
    `import-${id}`,
    async () => {
      const { data, error, response } = await bookImportsRetrieve({ path: { id } });
      if (!data) $("import-message").textContent = explain(response, error, "");
      return data;
    },
    showImport,
    (lastEventId, signal, onError) =>
      bookImportsEvents({
        path: { id },
        query: lastEventId === undefined ? undefined : { last_event_id: lastEventId },
        signal,
        sseMaxRetryAttempts: 1,
        onSseError: onError,
      }),
    (event) => showEventProgress($<HTMLProgressElement>("import-progress"), event),
  );
}
// --8<-- [end:follow]

function resetImport(): void {
  importWatch?.stop();
  importJob = null;
  $("import-message").textContent = "";
  show("import-job", false);
  show("import-form", true);
  $<HTMLFormElement>("import-form").reset();
}

// --8<-- [start:upload]
$("import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $<HTMLInputElement>("import-file").files?.[0];
  if (!file) return;
  $("import-message").textContent = "Uploading…";
  const { data, error, response } = await bookImportsCreate({ body: { file } });
  // 400: wrong format, empty file...; 413: larger than the upload limit.
  $("import-message").textContent = data ? "" : explain(response, error, "");
  if (data) watchImport(data.id);
});
// --8<-- [end:upload]

// --8<-- [start:confirm]
$("import-confirm").addEventListener("click", async () => {
  if (!importJob) return;
  const id = importJob.id;
  const { data, error, response } = await bookImportsConfirm({ path: { id } });
  // A 409: the job was confirmed or discarded elsewhere (another tab): say
  // so, and follow it from its current status.
  $("import-message").textContent = data ? "" : explain(response, error, "Not confirmed");
  watchImport(id);
});
// --8<-- [end:confirm]

$("import-cancel").addEventListener("click", async () => {
  if (!importJob) return;
  const id = importJob.id;
  const { data, error, response } = await bookImportsCancel({ path: { id } });
  $("import-message").textContent = data ? "" : explain(response, error, "Too late to cancel");
  watchImport(id);
});

$("import-discard").addEventListener("click", async () => {
  if (!importJob) return;
  const { error, response } = await bookImportsDelete({ path: { id: importJob.id } });
  if (response?.ok) resetImport();
  else $("import-message").textContent = explain(response, error, "Not discarded");
});

$("import-again").addEventListener("click", resetImport);

$("import-report").addEventListener("click", async () => {
  if (!importJob) return;
  const id = importJob.id;
  const { data, error, response } = await bookImportsErrorsFile({ path: { id } });
  if (data) saveBlob(data, filenameOf(response, `import-${id}-errors.csv`));
  else $("import-message").textContent = explain(response, error, "");
});

// -- export -------------------------------------------------------------------

let exportJob: BookExportJob | null = null;
let exportWatch: Watch | null = null;

function showExport(job: BookExportJob): void {
  exportJob = job;
  const { status } = job;
  show("export-job", true);
  $("export-status").textContent = label(status);
  $("export-status").dataset.status = status;
  showProgress($<HTMLProgressElement>("export-progress"), job.progress.percent);
  show("export-progress", status !== "cancelled" && status !== "export_error");
  $("export-hint").textContent =
    status === "export_error" ? job.error_message : status === "exported" ? job.filename : "";
  show("export-cancel", status === "created" || status === "exporting");
  show("export-download", status === "exported");
}

// The form's filters, as the resource's filterset names them; empty
// fields are left out.
function exportFilters(form: HTMLFormElement): BookExportFilters {
  const data = new FormData(form);
  const text = (name: string) => String(data.get(name) ?? "").trim();
  const filters: BookExportFilters = {};
  if (text("in_stock")) filters.in_stock = text("in_stock") === "yes";
  if (text("price__gte")) filters.price__gte = Number(text("price__gte"));
  if (text("price__lte")) filters.price__lte = Number(text("price__lte"));
  if (text("author__name__icontains")) filters.author__name__icontains = text("author__name__icontains");
  return filters;
}

// --8<-- [start:export]
$("export-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  const file_format = String(new FormData(form).get("file_format")) as BookExportFormatEnum;
  const { data, error, response } = await bookExportsCreate({
    body: { file_format, filters: exportFilters(form), ordering: ["title"] },
  });
  // 400: a filter value the filterset refuses, with its message.
  $("export-message").textContent = data ? "" : explain(response, error, "");
  if (!data) return;
  exportWatch?.stop();
  const id = data.id;
  exportWatch = follow(
    `export-${id}`,
    async () => (await bookExportsRetrieve({ path: { id } })).data,
    showExport,
    (lastEventId, signal, onError) =>
      bookExportsEvents({
        path: { id },
        query: lastEventId === undefined ? undefined : { last_event_id: lastEventId },
        signal,
        sseMaxRetryAttempts: 1,
        onSseError: onError,
      }),
    (event) => showEventProgress($<HTMLProgressElement>("export-progress"), event),
  );
});

$("export-download").addEventListener("click", async () => {
  if (!exportJob) return;
  const { id, filename } = exportJob;
  // The file is a Blob; a 409 if the job has no file (not exported).
  const { data, error, response } = await bookExportsDownload({ path: { id } });
  if (data) saveBlob(data, filenameOf(response, filename));
  else $("export-message").textContent = explain(response, error, "No file to download");
});
// --8<-- [end:export]

$("export-cancel").addEventListener("click", async () => {
  if (!exportJob) return;
  const id = exportJob.id;
  const { data, error, response } = await bookExportsCancel({ path: { id } });
  $("export-message").textContent = data ? "" : explain(response, error, "Too late to cancel");
  const fresh = await bookExportsRetrieve({ path: { id } });
  if (fresh.data) showExport(fresh.data);
});

render();
