"""Schemathesis hooks for fuzz/run.sh.

A schema cannot say everything the server checks. These hooks drop exactly the failures
that come from rules the document states in prose but JSON Schema cannot express; each
is listed with its reason in docs/API.md ("Schema fuzzing"). Every other failure fails
the run.
"""

import json
import re
import uuid

import schemathesis

# 422 codes of rules about data rather than shape: references to records that must exist
# and be visible to the caller, national code lists, check digits, rules across fields or
# relative to today, password strength, and one Idempotency-Key reused for another request.
SEMANTIC_422 = {
    "unknown_customer",
    "unknown_user",
    "unknown_contact",
    "unknown_opportunity",
    "unknown_code",
    "key_reused",
    "weak_password",
    "incorrect",
    "sensitive_data",
    "in_future",
    "out_of_range",
    "primary",
    "invalid_checksum",
    "invalid_range",
    "mobile_or_email",
    "overlapping",
    "duplicate",
    "region_required",
    "required_with",
    "exclusive",
    # A webhook target must parse as a URL, resolve, and (unless the server allows it) not
    # be a private address: DNS and address classes are not a pattern.
    "invalid_url",
    "unresolvable_host",
    "private_target",
    # A CSV import's header must name the template's columns (an uploaded file is just
    # bytes to a schema).
    "missing_column",
    "unknown_column",
    "duplicate_column",
}

# 422 `invalid_value` on these fields is a rule across fields (weights adding up to 100,
# thresholds in order, a resolution target no shorter than the response target).
CROSS_FIELD = ("purchase_weight", "key_threshold", "resolution_minutes")

# (parameter, code) pairs of 400s for values a schema cannot check: cursors are opaque
# tokens a client only ever copies from a previous page, and ranges need `from` <= `to`.
SEMANTIC_400 = {
    ("cursor", "invalid_value"),
    ("after", "invalid_value"),
    ("to", "invalid_value"),
    ("received_to", "invalid_value"),
    ("created_to", "invalid_value"),
    ("close_to", "invalid_value"),
    # Codes checked against the national lists (GB/T 2260, GB/T 4754), not a pattern.
    ("region", "invalid_value"),
    ("industry", "invalid_value"),
    ("industry_code", "invalid_value"),
}


_WELL_FORMED_KEY = re.compile(r"[!-~]{1,255}")


def _code(response):
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def _errors(response):
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors if isinstance(errors, list) and errors else None


def _semantic_422(error, converting):
    code, field = error.get("code"), str(error.get("field", ""))
    return (
        code in SEMANTIC_422
        or (code == "invalid_format" and field.endswith("uscc"))
        or (code == "invalid_value" and field.endswith(CROSS_FIELD))
        or (converting and code == "required")
    )


def _semantic(case, response):
    """Whether a 4xx answer comes only from rules a schema cannot express."""
    status = response.status_code
    if status == 415 and "/attachments" in case.path:
        # An attachment's type is read from its bytes (PDF or JPEG), which no schema states.
        return True
    if status == 400 and _code(response) == "malformed_csv":
        # A CSV body's syntax and encoding are read from its bytes.
        return True
    if status == 412:
        # A stale or made-up version in If-Match; the document's ETags come from earlier reads.
        return True
    errors = _errors(response)
    if errors is None:
        return False
    if status == 422:
        # What a conversion needs depends on what the lead already has.
        converting = case.path.endswith("/convert")
        return all(_semantic_422(e, converting) for e in errors)
    if status == 400:
        return all((e.get("field"), e.get("code")) in SEMANTIC_400 for e in errors)
    return False


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep a failure unless it is a documented, by-design answer (see module docs)."""
    if response is None:
        return True
    if any(v is None or v == "None" for v in (case.path_parameters or {}).values()):
        # A stateful step filled a path from a field that was null (a record without a
        # contact, say): not a request any client would send.
        return False
    if failure.code == "ST302" and case.path.startswith("/api/v1/reminders/"):
        # A reminder a manager makes for someone else lands in that person's inbox, which
        # only its owner acts on: not found for its maker.
        return False
    if failure.code == "ST202":  # schema-valid data rejected
        return not _semantic(case, response)
    if failure.code == "ST301" and case.path.startswith("/api/v1/customers/"):
        # DELETE archives a customer: it and its records stay readable (archived: true)
        # until restored or purged.
        return False
    if failure.code == "ST201" and response.status_code == 412:
        # If-Match is checked before the body (documented order of checks), so a stale
        # version answers 412 even when the body is also wrong.
        return False
    return True


@schemathesis.hook
def map_headers(context, headers):
    """A fresh Idempotency-Key for each request that carries a well-formed one.

    Generated keys are short and repeat across unrelated requests, so a later request would
    get the replay of an earlier one (documented behaviour, tested in the suite) instead of
    being checked itself. Malformed keys are left as they are, to be refused.
    """
    if headers and _WELL_FORMED_KEY.fullmatch(str(headers.get("Idempotency-Key", ""))):
        headers["Idempotency-Key"] = str(uuid.uuid4())
    return headers
