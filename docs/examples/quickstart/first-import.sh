#!/bin/sh
# The quickstart's first import and export from a shell, against
# `manage.py runserver` and a running worker. The test suite runs this file
# against a live server and a real worker (tests/test_docs_examples.py).
set -eu
API=${API:-http://127.0.0.1:8000/api}
AUTH=${AUTH:-admin:admin}  # the user from `manage.py createsuperuser`

# --8<-- [start:poll]
# The value of a top-level string or number field of a job's JSON.
field() {  # field NAME < job.json
    grep -o "\"$1\":\"*[a-z_0-9]*" | head -n 1 | sed 's/.*:"*//'
}

# Poll the job at URL while it is waiting or running; print its final status.
wait_job() {  # wait_job URL
    while :; do
        status=$(curl -sf -u "$AUTH" "$1" | field status)
        case $status in
            created | parsing | import_confirmed | importing | exporting) sleep 1 ;;
            *) echo "$status"; return ;;
        esac
    done
}
# --8<-- [end:poll]

# --8<-- [start:import]
# Upload: 201 and the new job ("status":"created"); the dry run starts.
job=$(curl -sf -u "$AUTH" -F file=@books.csv "$API/books/imports/")
echo "$job"
url="$API/books/imports/$(echo "$job" | field id)/"
wait_job "$url"                             # parsed (input_error: see "errors")
curl -sf -u "$AUTH" "$url"                  # totals of the dry run
echo

# Confirm: 202 ("status":"import_confirmed"); the import starts.
curl -sf -u "$AUTH" -X POST "${url}confirm/"
echo
wait_job "$url"                             # imported
# --8<-- [end:import]

# --8<-- [start:export]
# Export the books in stock as CSV, wait, download (-OJ: the server's file name).
job=$(curl -sf -u "$AUTH" -H "Content-Type: application/json" \
    -d '{"file_format": "csv", "filters": {"in_stock": true}}' "$API/books/exports/")
url="$API/books/exports/$(echo "$job" | field id)/"
wait_job "$url"                             # exported
curl -sf -u "$AUTH" -OJ "${url}download/"
# --8<-- [end:export]
