"""The OpenAPI 3.1 description of `/api/v1`."""

from __future__ import annotations

from ..exports.datasets import DATASETS
from ..exports.labelled import DEFAULT_STATA_VERSION, STATA_VERSIONS
from ..exports.writers import FORMATS

#: The values of `excel`: 1 for a CSV with a byte-order mark; anything else is a 400.
EXCEL = ("0", "1")
#: Every text parameter: NUL and control characters are refused (400) before the API reads the request.
TEXT = {"type": "string", "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"}
#: A filter date: YYYY-MM-DD from 1900-01-01 to 2999-12-31 (api/views.py FILTER_DATES); others are a 400.
DATE = {"type": "string", "format": "date", "pattern": "^(19[0-9]{2}|2[0-9]{3})-"}


def openapi() -> dict:
    problem = {"type": "object", "properties": {"status": {"type": "integer"}, "detail": {"type": "string"}},
               "required": ["status", "detail"]}
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
                        "400": error | {"description": "NUL or control characters in the request"},
                        "401": error | {"description": "Missing, unknown, revoked or expired token"},
                    },
                }
            },
            "/studies/{code}/define.xml": {
                "get": {
                    "summary": "Download define.xml (Define-XML 2.1) for the study's CDISC data sets",
                    "description": "Describes sdtm_qs, suppqs, adsl and adqs as their xpt files hold them "
                                   "(variables, labels, lengths from the data, code lists, origins, methods). "
                                   "Recorded in the audit trail as an export of `define`.",
                    "parameters": [
                        {"name": "code", "in": "path", "required": True, "schema": TEXT,
                         "description": "Study code, e.g. DEMO"},
                        {"name": "stylesheet", "in": "query",
                         "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\\.xsl$"},
                         "description": "Name a stylesheet next to the file (e.g. define2-1.xsl, from CDISC), so a "
                                        "browser shows it formatted; another value is a 400"},
                    ],
                    "responses": {
                        "200": {"description": "define.xml",
                                "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}}},
                        "400": error | {"description": "A stylesheet that is not a plain .xsl file name, NUL or "
                                                        "control characters"},
                        "401": error | {"description": "Missing, unknown, revoked or expired token"},
                        "403": error | {"description": "The token does not give access to this study, or only "
                                                        "to some of its sites"},
                    },
                }
            },
            "/studies/{code}/datasets/{name}": {
                "get": {
                    "summary": "Download one data set of a study",
                    "parameters": [
                        {"name": "code", "in": "path", "required": True, "schema": TEXT,
                         "description": "Study code, e.g. DEMO"},
                        {"name": "name", "in": "path", "required": True,
                         "schema": {"type": "string", "enum": list(DATASETS)}},
                        {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(FORMATS),
                                                                      "default": "csv"},
                         "description": "csv, parquet, xlsx; dta (Stata), sav (SPSS) and xpt (SAS transport "
                                        "version 5) with the codebook's variable labels, and value labels for "
                                        "every coded variable in dta and sav (xpt: names of 8 characters at most, "
                                        "see the codebook's xpt_name). The fhir data set (FHIR R4 Questionnaire, "
                                        "QuestionnaireResponse and Observation resources) is ndjson (its default) "
                                        "or json (a Bundle of type collection), and no other data set is; another "
                                        "combination is a 400"},
                        {"name": "stata_version", "in": "query",
                         "schema": {"type": "string", "enum": [str(v) for v in STATA_VERSIONS],
                                    "default": str(DEFAULT_STATA_VERSION)},
                         "description": "format=dta only: the Stata release whose file format is written; 12 "
                                        "(format 115) is the one R's foreign::read.dta opens (text cut at 243 "
                                        "bytes), 14 (format 118) is Stata 14 and later"},
                        {"name": "site", "in": "query", "schema": {"type": "array", "items": TEXT},
                         "style": "form", "explode": True,
                         "description": "Only these sites (codes of the study's sites; another is a 400)"},
                        {"name": "timepoint", "in": "query",
                         "schema": {"type": "array", "items": TEXT}, "style": "form",
                         "explode": True,
                         "description": "Only these timepoints (codes of the study's timepoints; another is a 400)"},
                        {"name": "from", "in": "query", "schema": DATE,
                         "description": "Target date on or after; 1900-01-01 to 2999-12-31, and not after `to`"},
                        {"name": "to", "in": "query", "schema": DATE,
                         "description": "Target date on or before; 1900-01-01 to 2999-12-31"},
                        {"name": "excel", "in": "query",
                         "schema": {"type": "string", "enum": list(EXCEL), "default": "0"},
                         "description": "1: CSV with a byte-order mark for Excel; 0: without"},
                    ],
                    "responses": {
                        "200": {"description": "The data set, streamed",
                                "content": {mime: {"schema": {"type": "string", "format": "binary"}}
                                            for mime in FORMATS.values()}},
                        "400": error | {"description": "Bad format or filter: a stata_version without "
                                                        "format=dta, a site or timepoint the study does not have, "
                                                        "an empty date range, NUL or control characters"},
                        "401": error | {"description": "Missing, unknown, revoked or expired token"},
                        "403": error | {"description": "The token does not give access to this study"},
                        "404": error | {"description": "Unknown data set"},
                    },
                }
            },
        },
    }
