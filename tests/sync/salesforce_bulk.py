"""Bulk API 2.0 ingest jobs of the local Salesforce org (salesforce_contract): create a job, upload
its CSV once, mark it UploadComplete, poll its state (InProgress, then JobComplete), read
successfulResults and failedResults back as CSV with sf__Id / sf__Created / sf__Error first.

Only `update` jobs on Lead and Contact are served, the operation the destination uses. As in Bulk
API CSV, an empty cell leaves a field alone and `#N/A` clears it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from salesforce_contract import SalesforceOrg


def _api_error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps([{"errorCode": code, "message": message}]), status=status, content_type="application/json"
    )


@dataclass
class Job:
    id: str
    object: str
    operation: str
    line_ending: str
    created: str
    state: str = "Open"
    data: str | None = None
    polls_left: int = 1  # GETs answering InProgress before JobComplete
    successful: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    error_message: str | None = None


class BulkJobs:
    def __init__(self, org: SalesforceOrg):
        self.org = org
        self.jobs: dict[str, Job] = {}
        self._next = 0

    def handle(self, request: Request, parts: list[str]) -> tuple[Response, int]:
        if not parts and request.method == "POST":
            return self._create(request), 0
        job = self.jobs.get(parts[0]) if parts else None
        if job is None:
            return _api_error(404, "NOT_FOUND", "The requested resource does not exist"), 0
        rest = parts[1:]
        if rest == ["batches"] and request.method == "PUT":
            return self._upload(job, request)
        if not rest and request.method == "GET":
            if job.state == "InProgress":
                job.polls_left -= 1
                if job.polls_left < 0:
                    job.state = "JobComplete"
            return self._info(job), 0
        if not rest and request.method == "PATCH":
            return self._set_state(job, (request.get_json(silent=True) or {}).get("state")), 0
        if not rest and request.method == "DELETE":
            del self.jobs[job.id]
            return Response(status=204), 0
        if rest in (["successfulResults"], ["failedResults"]) and request.method == "GET":
            if rest == ["successfulResults"]:
                return self._csv(["sf__Id", "sf__Created", *job.columns], job.successful), len(job.successful)
            return self._csv(["sf__Id", "sf__Error", *job.columns], job.failed), len(job.failed)
        return _api_error(404, "NOT_FOUND", "The requested resource does not exist"), 0

    def _create(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        if body.get("object") not in ("Lead", "Contact"):
            return _api_error(400, "INVALIDJOB", f"Unable to find object: {body.get('object')}")
        if body.get("operation") != "update":
            return _api_error(400, "INVALIDJOB", f"Operation not served by this org: {body.get('operation')}")
        if body.get("contentType", "CSV") != "CSV" or body.get("columnDelimiter", "COMMA") != "COMMA":
            return _api_error(400, "INVALIDJOB", "Only CSV with COMMA delimiters is served")
        self._next += 1
        job = Job(
            id=f"7505g00000{self._next:08d}",
            object=body["object"],
            operation="update",
            line_ending=body.get("lineEnding", "LF"),
            created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        )
        self.jobs[job.id] = job
        return self._info(job)

    def _upload(self, job: Job, request: Request) -> tuple[Response, int]:
        if job.state != "Open" or job.data is not None:
            return _api_error(409, "INVALIDJOBSTATE", "Job is not open for upload: one upload per job"), 0
        if not (request.content_type or "").startswith("text/csv"):
            return _api_error(400, "INVALIDREQUEST", "Content-Type must be text/csv"), 0
        job.data = request.get_data(as_text=True)
        rows = max(len(job.data.splitlines()) - 1, 0)
        return Response(status=201), rows

    def _set_state(self, job: Job, state: str | None) -> Response:
        if state == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
            job.state = "Aborted"
        elif state == "UploadComplete" and job.state == "Open":
            self._process(job)
            info = self._info(job)
            job.state = "InProgress" if job.state != "Failed" else "Failed"
            return info
        else:
            return _api_error(400, "INVALIDJOBSTATE", f"Cannot change the job's state from {job.state} to {state}")
        return self._info(job)

    def _process(self, job: Job) -> None:
        job.state = "UploadComplete"
        if not job.data:
            job.state, job.error_message = "Failed", "InvalidBatch : no data uploaded"
            return
        reader = csv.DictReader(io.StringIO(job.data, newline=""))
        job.columns = list(reader.fieldnames or [])
        if "Id" not in job.columns:
            job.state, job.error_message = "Failed", "InvalidBatch : Field name not found : Id"
            return
        for row in reader:
            values = {k: (None if v == "#N/A" else v) for k, v in row.items() if k != "Id" and v != ""}
            clean, problem = self.org.check_update(job.object, row["Id"], values)
            if problem:
                fields = " ".join(problem["fields"])
                text = f"{problem['statusCode']}:{problem['message']}:{fields + ' ' if fields else ''}--"
                job.failed.append({"sf__Id": row["Id"], "sf__Error": text, **row})
            else:
                self.org.apply_update(row["Id"], clean)
                job.successful.append({"sf__Id": row["Id"], "sf__Created": "false", **row})

    def _info(self, job: Job) -> Response:
        processed = len(job.successful) + len(job.failed)
        info: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.object,
            "createdById": "0055g00000AAAAAAAA",
            "createdDate": job.created,
            "systemModstamp": job.created,
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.org.api_version),
            "contentUrl": f"services/data/v{self.org.api_version}/jobs/ingest/{job.id}/batches",
            "lineEnding": job.line_ending,
            "columnDelimiter": "COMMA",
            "jobType": "V2Ingest",
            "numberRecordsProcessed": processed if job.state == "JobComplete" else 0,
            "numberRecordsFailed": len(job.failed) if job.state == "JobComplete" else 0,
            "retries": 0,
        }
        if job.error_message:
            info["errorMessage"] = job.error_message
        return Response(json.dumps(info), content_type="application/json")

    @staticmethod
    def _csv(columns: list[str], rows: list[dict[str, str]]) -> Response:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)
        return Response(out.getvalue(), content_type="text/csv")
