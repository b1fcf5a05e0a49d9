"""The OpenAPI 3.1 description of `/api/v1`."""

from __future__ import annotations

from ..exports.datasets import DATASETS
from ..exports.labelled import DEFAULT_STATA_VERSION, STATA_VERSIONS
from ..exports.writers import FORMATS


def openapi() -> dict:
    problem = {"type": "object", "properties": {"status": {"type": "integer"}, "detail": {"type": "string"}}}
    error = {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pro-app analyst API",
            "version": "1",
            "description": "Read-only access to a study's analyst data sets. Create a token on the staff "
                           "pages (API tokens), scoped to studies; send it as `Authorization: Bearer <token>`. "
                           "Every download is recorded in the audit trail. Column meanings: the `codebook` "
                           "data set.",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Problem": problem},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/studies": {
                "get": {
                    "summary": "Studies this token can read",
                    "responses": {
                        "200": {"description": "The studies", "content": {"application/json": {"schema": {
                            "type": "array", "items": {"type": "object", "properties": {
                                "code": {"type": "string"}, "title": {"type": "string"}}}}}}},
                        "401": error | {"description": "Missing, unknown, revoked or expired token"},
                    },
                }
            },
            "/studies/{code}/datasets/{name}": {
                "get": {
                    "summary": "Download one data set of a study",
                    "parameters": [
                        {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
                         "description": "Study code, e.g. DEMO"},
                        {"name": "name", "in": "path", "required": True,
                         "schema": {"type": "string", "enum": list(DATASETS)}},
                        {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(FORMATS),
                                                                      "default": "csv"},
                         "description": "csv, parquet, xlsx; dta (Stata), sav (SPSS) and xpt (SAS transport "
                                        "version 5) with the codebook's variable labels, and value labels for "
                                        "every coded variable in dta and sav (xpt: names of 8 characters at most, "
                                        "see the codebook's xpt_name)"},
                        {"name": "stata_version", "in": "query",
                         "schema": {"type": "string", "enum": [str(v) for v in STATA_VERSIONS],
                                    "default": str(DEFAULT_STATA_VERSION)},
                         "description": "format=dta only: the Stata release whose file format is written; 12 "
                                        "(format 115) is the one R's foreign::read.dta opens (text cut at 243 "
                                        "bytes), 14 (format 118) is Stata 14 and later"},
                        {"name": "site", "in": "query", "schema": {"type": "array", "items": {"type": "string"}},
                         "style": "form", "explode": True, "description": "Only these sites"},
                        {"name": "timepoint", "in": "query",
                         "schema": {"type": "array", "items": {"type": "string"}}, "style": "form",
                         "explode": True, "description": "Only these timepoints"},
                        {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"},
                         "description": "Target date on or after"},
                        {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"},
                         "description": "Target date on or before"},
                        {"name": "excel", "in": "query", "schema": {"type": "string", "enum": ["1"]},
                         "description": "CSV with a byte-order mark for Excel"},
                    ],
                    "responses": {
                        "200": {"description": "The data set, streamed",
                                "content": {mime: {"schema": {"type": "string", "format": "binary"}}
                                            for mime in FORMATS.values()}},
                        "400": error | {"description": "Bad format or filter"},
                        "401": error | {"description": "Missing, unknown, revoked or expired token"},
                        "403": error | {"description": "The token does not give access to this study"},
                        "404": error | {"description": "Unknown data set"},
                    },
                }
            },
        },
    }
