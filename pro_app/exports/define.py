"""define.xml (CDISC Define-XML 2.1, on ODM 1.3.2) for the CDISC data sets of a study: `sdtm_qs` (QS),
`suppqs` (SUPPQS), `adsl` (ADSL) and `adqs` (ADQS), as their SAS transport files hold them. Built from the
same column definitions as the codebook: every variable an ItemDef with its label, type, length (the longest
value in the study's data, at most the 200 bytes a transport file holds), origin and, when derived, its
method; every variable with allowed values a CodeList of its codebook `code = label` pairs.

The CDISC stylesheet (define2-1.xsl) is not shipped; with `stylesheet` the file names one next to it, so a
browser shows it formatted when the sponsor puts the stylesheet there.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from ..models import Study
from . import columns as C
from .codebook import TITLES, dataset_columns
from .datasets import Filters, build
from .labelled import XPT_TEXT, coded_values, sas_names

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.1"
XLINK = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {None: ODM, "def": DEF, "xlink": XLINK}


def _odm(tag: str) -> str:
    return f"{{{ODM}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEF}}}{tag}"


#: The data sets: (data set, domain / name, standard, class, structure, key variables).
DATASETS = (
    ("sdtm_qs", "QS", "SDTMIG", "FINDINGS", "One record per questionnaire item per visit per subject, and one "
     "QSALL record per questionnaire not done", ("STUDYID", "USUBJID", "QSCAT", "QSTESTCD", "VISITNUM")),
    ("suppqs", "SUPPQS", "SDTMIG", "RELATIONSHIP", "One record per supplemental qualifier per QS record",
     ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")),
    ("adsl", "ADSL", "ADaMIG", "SUBJECT LEVEL ANALYSIS DATASET", "One record per subject",
     ("STUDYID", "USUBJID")),
    ("adqs", "ADQS", "ADaMIG", "BASIC DATA STRUCTURE", "One record per subject per parameter per analysis visit",
     ("STUDYID", "USUBJID", "PARAMCD", "AVISITN")),
)
STANDARDS = {"SDTMIG": ("STD.SDTMIG.3-4", "3.4"), "ADaMIG": ("STD.ADAMIG.1-3", "1.3")}

#: Origins other than Assigned, by data set and variable: (type, source or None, method text or None).
COLLECTED = ("Collected", "Subject", None)
ORIGINS: dict[str, dict[str, tuple[str, str | None, str | None]]] = {
    "QS": {
        "QSORRES": COLLECTED, "QSDTC": ("Collected", "Subject", None),
        "USUBJID": ("Derived", None, "STUDYID, a hyphen and the participant's study code."),
        "QSSEQ": ("Derived", None, "1, 2, ... within each subject in visit, questionnaire and item order."),
        "QSSTRESC": ("Derived", None, "The numeric value of the chosen option as text; NOT APPLICABLE for a "
                                      "not-applicable option."),
        "QSSTRESN": ("Derived", None, "The numeric value of the chosen option (the instrument definition)."),
        "QSSTAT": ("Derived", None, "NOT DONE when the item was not answered (its state) or the assessment "
                                    "was not done."),
        "QSREASND": ("Derived", None, "From the item's state (declined, branched, not reached) or the "
                                      "reason the staff gave for an assessment not done."),
        "QSCBRFL": ("Derived", None, "Y when the item was not shown because of conditional branching."),
        "QSDY": ("Derived", None, "Days from RFSTDTC (the anchor date) to QSDTC, plus 1 on or after it "
                                  "(there is no day 0)."),
        "QSLOBXFL": ("Derived", None, "Y on each subject's last record of each test with a result on or "
                                      "before the anchor date."),
    },
    "SUPPQS": {"QVAL": COLLECTED},
    "ADSL": {
        "USUBJID": ("Predecessor", None, "QS.USUBJID"), "SUBJID": ("Collected", "Investigator", None),
        "SITEID": ("Collected", "Investigator", None), "ARM": ("Collected", "Investigator", None),
        "TRT01P": ("Derived", None, "The subject's arm."),
        "TRT01A": ("Derived", None, "The subject's arm (no actual treatment is recorded)."),
        "RFSTDT": ("Collected", "Investigator", None), "RFICDT": ("Collected", "Investigator", None),
        "EOSSTT": ("Derived", None, "DISCONTINUED when the subject is withdrawn, else ONGOING."),
        "EOSDT": ("Collected", "Investigator", None), "DCSREAS": ("Collected", "Investigator", None),
        "FUCONTFL": ("Collected", "Investigator", None), "DTHDT": ("Collected", "Investigator", None),
        "DTHFL": ("Derived", None, "Y when a date of death is recorded."),
        "ENRLFL": ("Derived", None, "Y for every subject enrolled."),
        "ITTFL": ("Derived", None, "Y when an arm is assigned."),
        "PROFL": ("Derived", None, "Y when at least one questionnaire assessment was completed."),
    },
    "ADQS": {
        "USUBJID": ("Predecessor", None, "ADSL.USUBJID"), "SUBJID": ("Predecessor", None, "ADSL.SUBJID"),
        "SITEID": ("Predecessor", None, "ADSL.SITEID"), "TRT01P": ("Predecessor", None, "ADSL.TRT01P"),
        "TRT01A": ("Predecessor", None, "ADSL.TRT01A"),
        "TRTP": ("Derived", None, "ADSL.TRT01P (one treatment period)."),
        "TRTA": ("Derived", None, "ADSL.TRT01A (one treatment period)."),
        "ASEQ": ("Derived", None, "1, 2, ... within each subject in parameter and visit order."),
        "AVAL": ("Derived", None, "The score as pro-app's scoring engine stored it, unrounded: EORTC scales by "
                                  "the EORTC scoring manual's linear transformation and half rule, PRO-CTCAE "
                                  "composite grades by the NCI composite table."),
        "BASE": ("Derived", None, "AVAL of the record at the study's baseline visit (the first timepoint)."),
        "ABLFL": ("Derived", None, "Y on the baseline visit's record when AVAL is not missing."),
        "CHG": ("Derived", None, "AVAL - BASE on post-baseline records."),
        "PCHG": ("Derived", None, "100 * CHG / BASE, when BASE is not 0."),
        "ADT": ("Derived", None, "The site-local date the assessment was completed."),
        "ADY": ("Derived", None, "ADT - ADSL.RFSTDT, plus 1 on or after it (there is no day 0)."),
        "ANL01FL": ("Derived", None, "Y when AVAL is not missing (one record per subject, parameter and visit)."),
        "CRIT1FL": ("Derived", None, "Y when CHG is a worsening by at least the meaningful change: 10 points for "
                                     "EORTC scales (down for functional and global scales, up for symptom "
                                     "scales), 1 grade for PRO-CTCAE composites; N otherwise."),
        "SRCSEQ": ("Derived", None, "The assessment id of the source score."),
    },
}

_TYPES = {"string": "text", "integer": "integer", "number": "float", "date": "integer", "datetime": "integer",
          "boolean": "integer"}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("pro-app")
    except PackageNotFoundError:
        return "unknown"


def _text(parent, tag: str, text: str):
    element = etree.SubElement(parent, tag)
    translated = etree.SubElement(element, _odm("TranslatedText"))
    translated.set(XML_LANG, "en")
    translated.text = text
    return element


def _lengths(study: Study, dataset: str) -> dict[str, int]:
    """The longest text value of each column, in UTF-8 bytes (at least 1, at most XPT_TEXT)."""
    longest: dict[str, int] = {}
    for chunk in build(study, dataset, Filters()):
        for name in chunk.columns:
            values = chunk[name].dropna()
            size = max((len(str(v).encode("utf-8")) for v in values), default=1)
            longest[name] = max(longest.get(name, 1), size)
    return {k: min(v, XPT_TEXT) for k, v in longest.items()}


def define_xml(study: Study, *, stylesheet: str | None = None, now: datetime | None = None) -> bytes:
    now = now or datetime.now(UTC)
    columns = dataset_columns(study)
    odm = etree.Element(_odm("ODM"), nsmap=NSMAP)
    odm.set("FileType", "Snapshot")
    odm.set("FileOID", f"DEFINE.{study.code}")
    odm.set("ODMVersion", "1.3.2")
    odm.set("CreationDateTime", now.strftime("%Y-%m-%dT%H:%M:%S"))
    odm.set("Originator", "pro-app")
    odm.set("SourceSystem", "pro-app")
    odm.set("SourceSystemVersion", _version())
    odm.set(_def("Context"), "Submission")
    study_el = etree.SubElement(odm, _odm("Study"), OID=f"STUDY.{study.code}")
    globals_el = etree.SubElement(study_el, _odm("GlobalVariables"))
    etree.SubElement(globals_el, _odm("StudyName")).text = study.code
    etree.SubElement(globals_el, _odm("StudyDescription")).text = study.title
    etree.SubElement(globals_el, _odm("ProtocolName")).text = study.code
    mdv = etree.SubElement(study_el, _odm("MetaDataVersion"), OID=f"MDV.{study.code}",
                           Name=f"{study.code} patient-reported outcomes",
                           Description="SDTM QS and SUPPQS, ADaM ADSL and ADQS, as written by pro-app")
    mdv.set(_def("DefineVersion"), "2.1.0")
    standards = etree.SubElement(mdv, _def("Standards"))
    for name, (oid, version) in STANDARDS.items():
        etree.SubElement(standards, _def("Standard"), OID=oid, Name=name, Type="IG", Version=version,
                         Status="Final")

    groups, items, codelists, methods = [], [], [], []
    for dataset, domain, standard, klass, structure, keys in DATASETS:
        cols = columns[dataset]
        lengths = _lengths(study, dataset)
        renamed = sas_names([c.name for c in cols])
        group = etree.Element(_odm("ItemGroupDef"), OID=f"IG.{domain}", Name=domain, Repeating="Yes",
                              IsReferenceData="No", SASDatasetName=domain,
                              Purpose="Tabulation" if standard == "SDTMIG" else "Analysis")
        if standard == "SDTMIG":
            group.set("Domain", domain)
        group.set(_def("Structure"), structure)
        group.set(_def("StandardOID"), STANDARDS[standard][0])
        group.set(_def("ArchiveLocationID"), f"LF.{domain}")
        _text(group, _odm("Description"), TITLES[dataset])
        for order, column in enumerate(cols, start=1):
            oid = f"IT.{domain}.{column.name}"
            origin, source, method = ORIGINS.get(domain, {}).get(column.name, ("Assigned", None, None))
            ref = etree.SubElement(group, _odm("ItemRef"), ItemOID=oid, OrderNumber=str(order),
                                   Mandatory="Yes" if column.name in keys else "No")
            if column.name in keys:
                ref.set("KeySequence", str(keys.index(column.name) + 1))
            if origin == "Derived":
                ref.set("MethodOID", f"MT.{domain}.{column.name}")
                method_el = etree.Element(_odm("MethodDef"), OID=f"MT.{domain}.{column.name}",
                                          Name=f"Algorithm for {domain}.{column.name}", Type="Computation")
                _text(method_el, _odm("Description"), method)
                methods.append(method_el)
            items.append(_item(domain, column, renamed[column.name], lengths, origin, source,
                               method if origin == "Predecessor" else None, codelists))
        etree.SubElement(group, _def("Class"), Name=klass)
        leaf = etree.SubElement(group, _def("leaf"), ID=f"LF.{domain}")
        leaf.set(f"{{{XLINK}}}href", f"{domain.lower()}.xpt")
        etree.SubElement(leaf, _def("title")).text = f"{domain.lower()}.xpt"
        groups.append(group)
    for element in (*groups, *items, *codelists, *methods):
        mdv.append(element)
    document = etree.ElementTree(odm)
    if stylesheet:
        pi = etree.ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{stylesheet}"')
        odm.addprevious(pi)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _item(domain: str, column: C.Column, sas_name: str, lengths: dict[str, int], origin: str,
          source: str | None, predecessor: str | None, codelists: list) -> etree._Element:
    kind = _TYPES[column.type]
    item = etree.Element(_odm("ItemDef"), OID=f"IT.{domain}.{column.name}", Name=column.name, DataType=kind,
                         SASFieldName=sas_name)
    if kind == "text":
        item.set("Length", str(lengths.get(column.name, 1)))
    elif kind == "integer" and column.type != "date":
        item.set("Length", "8")
    if column.type == "date":
        item.set(_def("DisplayFormat"), "DATE9.")
    _text(item, _odm("Description"), column.label)
    pairs = coded_values(column)
    if kind == "integer" and column.type != "date":
        pairs = [(c, lbl) for c, lbl in pairs if c.lstrip("-").isdigit()]
    if pairs and column.type != "date":
        oid = f"CL.{domain}.{column.name}"
        etree.SubElement(item, _odm("CodeListRef"), CodeListOID=oid)
        codelist = etree.Element(_odm("CodeList"), OID=oid, Name=f"{domain} {column.name}",
                                 DataType="text" if kind == "text" else "integer")
        for code, label in dict(pairs).items():
            entry = etree.SubElement(codelist, _odm("CodeListItem"), CodedValue=code)
            _text(entry, _odm("Decode"), label)
        codelists.append(codelist)
    origin_el = etree.SubElement(item, _def("Origin"), Type=origin)
    if source:
        origin_el.set("Source", source)
    if predecessor:
        _text(origin_el, _odm("Description"), predecessor)
    return item
