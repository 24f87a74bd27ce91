"""``Prefer: respond-async``: 202 + a job Location, idempotency keys, and the job/task resources.

Jobs run at once inside the request (the sandbox has no queue), so a job is complete by the time
its Location is returned; the polling resources still follow the documented shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from .errors import NetSuiteError, error_body
from .records.common import now_iso
from .records.serialize import self_links
from .state import AsyncJob, SandboxState

JOB_PATH = "/services/rest/async/v1/job"
IDEMPOTENCY_DETAIL = (
    'A request with the same idempotency key is already submitted. See the "Location" header for a '
    "link to the previously submitted job"
)


def wants_async(request: Request) -> bool:
    return "respond-async" in request.headers.get("prefer", "").lower()


def run_async(request: Request, state: SandboxState, operation: Callable[[], Response]) -> Response:
    """Run ``operation`` as an async job and answer 202, or 400 for a reused idempotency key."""
    key = request.headers.get("x-netsuite-idempotency-key")
    if key and key in state.idempotency_keys:
        body = error_body(400, "IDEMPOTENCY_ERROR", IDEMPOTENCY_DETAIL, title="Conflict")
        body["type"] = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.10"
        location = f"{JOB_PATH}/{state.idempotency_keys[key]}"
        return JSONResponse(body, status_code=400, headers={"Location": location})
    started = now_iso()
    try:
        result = operation()
        job = AsyncJob("", started, now_iso(), True, result.status_code, result.headers.get("location"))
    except NetSuiteError as exc:
        error = error_body(exc.status, exc.code, exc.detail, path=exc.path, query_param=exc.query_param)
        job = AsyncJob("", started, now_iso(), False, exc.status, error=error)
    job.id = str(state.next_id("job"))
    state.jobs[job.id] = job
    if key:
        state.idempotency_keys[key] = job.id
    headers = {"Preference-Applied": "respond-async", "Location": f"{JOB_PATH}/{job.id}"}
    return Response(status_code=202, headers=headers)


def build_router() -> APIRouter:
    router = APIRouter()

    def job_of(request: Request, job_id: str) -> tuple[AsyncJob, str]:
        state: SandboxState = request.app.state.netsuite
        job = state.jobs.get(job_id)
        if job is None:
            raise NetSuiteError(404, "NONEXISTENT_ID", f"The async job {job_id} does not exist.")
        return job, f"{str(request.base_url).rstrip('/')}{JOB_PATH}/{job_id}"

    @router.get(f"{JOB_PATH}/{{job_id}}")
    async def get_job(request: Request, job_id: str) -> dict[str, Any]:
        job, href = job_of(request, job_id)
        return {
            "links": self_links(href),
            "completed": True,
            "id": job.id,
            "progress": "succeeded" if job.succeeded else "failed",
            "task": {"links": self_links(f"{href}/task")},
        }

    @router.get(f"{JOB_PATH}/{{job_id}}/task")
    async def list_tasks(request: Request, job_id: str) -> dict[str, Any]:
        _, href = job_of(request, job_id)
        items = [{"links": self_links(f"{href}/task/1"), "id": "1"}]
        return {
            "links": self_links(f"{href}/task"),
            "count": 1,
            "hasMore": False,
            "items": items,
            "offset": 0,
            "totalResults": 1,
        }

    @router.get(f"{JOB_PATH}/{{job_id}}/task/{{task_id}}")
    async def get_task(request: Request, job_id: str, task_id: str) -> dict[str, Any]:
        job, href = job_of(request, job_id)
        if task_id != "1":
            raise NetSuiteError(404, "NONEXISTENT_ID", f"The task {task_id} does not exist.")
        return {
            "links": [*self_links(f"{href}/task/1"), {"rel": "related", "href": f"{href}/task/1/result"}],
            "completed": True,
            "endTime": job.ended,
            "id": "1",
            "progress": "succeeded" if job.succeeded else "failed",
            "startTime": job.started,
        }

    @router.get(f"{JOB_PATH}/{{job_id}}/task/{{task_id}}/result")
    async def get_result(request: Request, job_id: str, task_id: str) -> Response:
        job, _ = job_of(request, job_id)
        if task_id != "1":
            raise NetSuiteError(404, "NONEXISTENT_ID", f"The task {task_id} does not exist.")
        if not job.succeeded:
            return JSONResponse(job.error, status_code=job.status)
        return Response(status_code=job.status, headers={"Location": job.location} if job.location else {})

    return router
