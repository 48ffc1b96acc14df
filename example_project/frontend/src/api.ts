// The SDK's configuration for this page: requests go to the page's own
// origin, authenticated by the token that signing in returned (kept in
// sessionStorage: closing the tab signs out), with Django's CSRF token for
// browsers that also hold a session cookie of the same site (the admin).

import { authTokenCreate } from "./client";
import type { ExportJobEvent, ImportJobEvent } from "./client";
import { client } from "./client/client.gen";

const TOKEN_KEY = "books-app-token";
const USER_KEY = "books-app-user";

// --8<-- [start:client]
client.setConfig({
  // The page is served by the API's own server: same origin, no CORS.
  baseUrl: window.location.origin,
  // Called for each security scheme of an operation: only DRF's token
  // scheme (an API key in the Authorization header) gets a value.
  auth: (scheme) =>
    scheme.type === "apiKey" && scheme.name === "Authorization" && token()
      ? `Token ${token()}`
      : undefined,
});

// With a session cookie (signed in to the admin as well), DRF's session
// authentication answers first and wants the CSRF token on unsafe requests.
client.interceptors.request.use((request) => {
  const csrf = cookie("csrftoken");
  if (csrf && request.method !== "GET") request.headers.set("X-CSRFToken", csrf);
  return request;
});
// --8<-- [end:client]

function cookie(name: string): string | undefined {
  const prefix = `${name}=`;
  return document.cookie
    .split("; ")
    .find((part) => part.startsWith(prefix))
    ?.slice(prefix.length);
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signedInAs(): string | null {
  return token() ? sessionStorage.getItem(USER_KEY) : null;
}

// --8<-- [start:signin]
// Exchange a username and password for a token (POST /api/auth/token/).
// Returns an error message, or null once signed in.
export async function signIn(username: string, password: string): Promise<string | null> {
  const { data, error, response } = await authTokenCreate({ body: { username, password } });
  if (data) {
    sessionStorage.setItem(TOKEN_KEY, data.token);
    sessionStorage.setItem(USER_KEY, username);
    return null;
  }
  return response ? messages(error) : "The server could not be reached.";
}
// --8<-- [end:signin]

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

// The API's error bodies: `{detail}` (401, 403, 404, 413...), messages per
// field (400, nested for `filters`), or a 409's `{detail, code, status}`.
export function messages(body: unknown, field = ""): string {
  if (typeof body === "string") return field ? `${field}: ${body}` : body;
  if (Array.isArray(body)) return body.map((item) => messages(item, field)).join(" ");
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === "string") return record.detail;
    return Object.entries(record)
      .map(([key, value]) =>
        messages(value, key === "non_field_errors" ? field : field ? `${field}.${key}` : key),
      )
      .join(" ");
  }
  return "Unexpected answer from the server.";
}

// --8<-- [start:poll]
// A job that is waiting for a worker or running changes by itself: poll it
// until it rests in one of these statuses (or `watch.stop()` is called).
export const RESTING = new Set([
  "parsed", "input_error", "parse_error", "imported", "import_error",
  "exported", "export_error", "cancelled",
]);

export type Watch = { stop: () => void };

export function watch<T extends { status: string }>(
  fetchJob: () => Promise<T | undefined>,
  show: (job: T) => void,
  intervalMs = 1000,
): Watch {
  let stopped = false;
  const poll = async () => {
    if (stopped) return;
    const job = await fetchJob();
    if (stopped || job === undefined) return;
    show(job);
    if (!RESTING.has(job.status)) setTimeout(poll, intervalMs);
  };
  void poll();
  return { stop: () => (stopped = true) };
}
// --8<-- [end:poll]

// --8<-- [start:events]
// What a job's event stream sends (GET .../events/, Server-Sent Events).
export type JobEvent = ImportJobEvent | ExportJobEvent;

// Opens the stream after `lastEventId`; `onError` hears of a failed one.
export type OpenEvents = (
  lastEventId: number | undefined,
  signal: AbortSignal,
  onError: () => void,
) => Promise<{ stream: AsyncGenerator<JobEvent | void> }>;

// The last event id seen per job: following a job again (after a confirm)
// goes on from there rather than replaying its history.
const lastEventIds = new Map<string, number>();

// Follow a job through its event stream, read by the SDK (fetch, so the
// token goes in the Authorization header, which an EventSource cannot send):
// a progress write moves the bar, a status change reads the job again. When
// the server ends a response (EVENTS_MAX_SECONDS) it is opened again after
// the last event; when the stream fails (an old server, a proxy that buffers,
// a network error), the job is polled instead.
export function follow<T extends { status: string }>(
  key: string,
  fetchJob: () => Promise<T | undefined>,
  show: (job: T) => void,
  openEvents: OpenEvents,
  onProgress: (event: JobEvent) => void,
): Watch {
  const controller = new AbortController();
  let stopped = false;
  let fallback: Watch | null = null;
  const poll = () => {
    if (!stopped) fallback = watch(fetchJob, show);
  };
  const run = async () => {
    const job = await fetchJob();
    if (stopped || job === undefined) return;
    show(job);
    if (RESTING.has(job.status)) return;
    for (;;) {
      let failed = false;
      const { stream } = await openEvents(lastEventIds.get(key), controller.signal, () => {
        failed = true;
      });
      for await (const event of stream) {
        if (stopped) return;
        if (!event) continue;
        if (event.id !== null) lastEventIds.set(key, event.id);
        if (event.event === "progress") {
          onProgress(event);
          continue;
        }
        const fresh = await fetchJob();
        if (stopped || fresh === undefined) return;
        show(fresh);
        if (RESTING.has(fresh.status)) return;
      }
      if (stopped) return;
      if (failed) return poll();
    }
  };
  run().catch(poll);
  return {
    stop: () => {
      stopped = true;
      controller.abort();
      fallback?.stop();
    },
  };
}
// --8<-- [end:events]

// Saves a file the API sent (a Blob) under `filename`, as a link would.
export function saveBlob(blob: Blob, filename: string): void {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

// The file name from a Content-Disposition header, or `fallback`.
export function filenameOf(response: Response, fallback: string): string {
  const header = response.headers.get("Content-Disposition") ?? "";
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header);
  return match ? decodeURIComponent(match[1]) : fallback;
}
