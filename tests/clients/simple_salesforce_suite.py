"""simple-salesforce against the Portico emulator over https.

Run by tests/tests/suite/clients.rs with the emulator's address and credentials in the
environment (PORTICO_EMULATOR_URL, PORTICO_EMULATOR_CA, PORTICO_CLIENT_ID,
PORTICO_CLIENT_SECRET). Exits non-zero with a readable message at the first failed check.
"""

import os
import sys

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

VERSION = "62.0"
LOAD = 2100  # over one batch of 2,000, so paging is exercised


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def expect_error(call, exception, code, what):
    try:
        call()
    except exception as e:
        got = e.content[0]["errorCode"] if isinstance(e.content, list) else e.content
        check(got == code, f"{what}: expected {code}, got {got}: {e.content}")
        return e.content[0]
    raise Failed(f"{what}: expected {exception.__name__} ({code}), but it succeeded")


def connect(base, ca, client_id, client_secret):
    session = requests.Session()
    session.verify = ca
    token = session.post(
        f"{base}/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
    )
    check(token.status_code == 200, f"token endpoint answered {token.status_code}: {token.text}")
    body = token.json()
    sf = Salesforce(instance_url=body["instance_url"], session_id=body["access_token"], version=VERSION, session=session)
    return sf, session


def rows(sf, records, all_or_none=True):
    """sObject Collections create, through the library's raw REST call."""
    out = sf.restful("composite/sobjects", method="POST", json={"allOrNone": all_or_none, "records": records})
    return out


def run(base, ca, client_id, client_secret):
    sf, session = connect(base, ca, client_id, client_secret)

    # Versions (no session needed) and describes.
    versions = session.get(f"{base}/services/data/").json()
    check(any(v["version"] == VERSION for v in versions), f"versions list lacks {VERSION}: {versions[-3:]}")
    check(any(o["name"] == "Lead" for o in sf.describe()["sobjects"]), "global describe lacks Lead")
    lead_describe = sf.Lead.describe()
    check(any(f["name"] == "Email" for f in lead_describe["fields"]), "Lead describe lacks Email")
    check(sf.Lead.metadata()["objectDescribe"]["name"] == "Lead", "Lead basic info")

    # One record: create, get, update, delete.
    created = sf.Lead.create({"LastName": "Lovelace", "Company": "Analytical Engines", "Email": "ada@engines.example"})
    check(created["success"] and created["id"].startswith("00Q"), f"create: {created}")
    lead_id = created["id"]
    got = sf.Lead.get(lead_id)
    check(got["LastName"] == "Lovelace" and got["attributes"]["type"] == "Lead", f"get: {got}")
    check(sf.Lead.update(lead_id, {"Company": "Difference Engines"}) == 204, "update answers 204")
    check(sf.Lead.get(lead_id)["Company"] == "Difference Engines", "update took effect")
    check(sf.Lead.delete(lead_id) == 204, "delete answers 204")
    gone = expect_error(lambda: sf.Lead.get(lead_id), SalesforceResourceNotFound, "NOT_FOUND", "get after delete")
    check(gone["message"] == "The requested resource does not exist", f"NOT_FOUND message: {gone}")

    # Upsert by external id (Event.Booking_Id__c), then read by it.
    event = {"Subject": "Intro", "StartDateTime": "2026-12-01T10:00:00.000Z", "DurationInMinutes": 30}
    check(sf.Event.upsert("Booking_Id__c/bk-py-1", event) == 201, "upsert creates (201)")
    check(sf.Event.upsert("Booking_Id__c/bk-py-1", {"Subject": "Moved"}) == 200, "upsert updates (200 from v46)")
    check(sf.Event.get_by_custom_id("Booking_Id__c", "bk-py-1")["Subject"] == "Moved", "get by external id")

    # Load through sObject Collections (200 a call, allOrNone), then query it.
    companies = ["Alpha", "Beta", "Gamma"]
    ids = []
    for start in range(0, LOAD, 200):
        batch = [
            {"attributes": {"type": "Lead"}, "LastName": f"PyLoad-{i:04d}", "Company": companies[i % 3]}
            for i in range(start, min(start + 200, LOAD))
        ]
        results = rows(sf, batch)
        check(all(r["success"] for r in results), f"collections create: {results[:2]}")
        ids += [r["id"] for r in results]
    too_many = [{"attributes": {"type": "Lead"}, "LastName": "x", "Company": "c"}] * 201
    expect_error(lambda: rows(sf, too_many), SalesforceMalformedRequest, "EXCEEDED_ID_LIMIT", "201 records")

    q = sf.query(
        "SELECT Id, LastName, Company FROM Lead WHERE Company IN ('Alpha', 'Beta') "
        "AND LastName LIKE 'PyLoad-01%' ORDER BY LastName DESC LIMIT 5"
    )
    names = [r["LastName"] for r in q["records"]]
    check(names == ["PyLoad-0199", "PyLoad-0198", "PyLoad-0196", "PyLoad-0195", "PyLoad-0193"], f"IN/LIKE/ORDER BY: {names}")
    check(q["totalSize"] == 5 and q["done"], f"LIMIT: {q['totalSize']}")

    first = sf.query("SELECT Id FROM Lead WHERE LastName LIKE 'PyLoad-%'")
    check(not first["done"] and len(first["records"]) == 2000, f"first page: done={first['done']} {len(first['records'])}")
    check(first["totalSize"] == LOAD, f"totalSize over all pages: {first['totalSize']}")
    check(first["nextRecordsUrl"].startswith(f"/services/data/v{VERSION}/query/"), first["nextRecordsUrl"])
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    check(rest["done"] and len(rest["records"]) == LOAD - 2000, f"second page: {len(rest['records'])}")
    everything = sf.query_all("SELECT Id FROM Lead WHERE LastName LIKE 'PyLoad-%'")
    check(len(everything["records"]) == LOAD, f"query_all: {len(everything['records'])}")
    small = sf.query("SELECT Id FROM Lead WHERE LastName LIKE 'PyLoad-%'", headers={"Sforce-Query-Options": "batchSize=500"})
    check(len(small["records"]) == 500, f"batchSize=500 gave {len(small['records'])}")

    count = sf.query("SELECT COUNT() FROM Lead WHERE LastName LIKE 'PyLoad-%' AND CreatedDate = TODAY")
    check(count["totalSize"] == LOAD and count["records"] == [], f"COUNT(): {count}")
    none = sf.query("SELECT COUNT() FROM Lead WHERE LastName LIKE 'PyLoad-%' AND CreatedDate < LAST_N_DAYS:30")
    check(none["totalSize"] == 0, f"date literal: {none}")

    # Collections update with allOrNone: one bad record rolls both back.
    update = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Lead"}, "id": ids[0], "Company": "Renamed"},
            {"attributes": {"type": "Lead"}, "id": ids[1], "NoSuchField__c": "x"},
        ],
    }
    results = sf.restful("composite/sobjects", method="PATCH", json=update)
    check([r["success"] for r in results] == [False, False], f"allOrNone update: {results}")
    check(results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK", f"rolled back: {results[0]}")
    check(results[1]["errors"][0]["statusCode"] == "INVALID_FIELD", f"the bad record's own error: {results[1]}")
    check(sf.Lead.get(ids[0])["Company"] == "Alpha", "the valid record was rolled back")

    # Collections delete, then queryAll sees the tombstones.
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids[:3]), "allOrNone": "true"})
    check(all(r["success"] for r in deleted) and len(deleted) == 3, f"collections delete: {deleted}")
    live = sf.query("SELECT COUNT() FROM Lead WHERE LastName LIKE 'PyLoad-%'")["totalSize"]
    check(live == LOAD - 3, f"live after delete: {live}")
    tombs = sf.query_all("SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true", include_deleted=True)
    check({r["Id"] for r in tombs["records"]} >= set(ids[:3]), f"queryAll lacks the deleted: {tombs['totalSize']}")
    check(all(r["IsDeleted"] for r in tombs["records"]), "queryAll IsDeleted")

    # Composite with a reference, and Composite Graph.
    composite = sf.restful("composite", method="POST", json={
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"/services/data/v{VERSION}/sobjects/Lead", "referenceId": "NewLead",
             "body": {"LastName": "Hopper", "Company": "Navy"}},
            {"method": "GET", "url": f"/services/data/v{VERSION}/sobjects/Lead/@{{NewLead.id}}?fields=LastName",
             "referenceId": "ReadBack"},
        ],
    })
    answers = composite["compositeResponse"]
    check([a["httpStatusCode"] for a in answers] == [201, 200], f"composite: {answers}")
    check(answers[1]["body"]["LastName"] == "Hopper", f"composite reference: {answers[1]}")
    graph = sf.restful("composite/graph", method="POST", json={"graphs": [
        {"graphId": "ok", "compositeRequest": [
            {"method": "POST", "url": f"/services/data/v{VERSION}/sobjects/Lead", "referenceId": "L",
             "body": {"LastName": "Graph", "Company": "Ok"}}]},
        {"graphId": "bad", "compositeRequest": [
            {"method": "POST", "url": f"/services/data/v{VERSION}/sobjects/Lead", "referenceId": "L",
             "body": {"LastName": "Graph"}}]},
    ]})
    check([g["isSuccessful"] for g in graph["graphs"]] == [True, False], f"graph: {graph}")

    # Refusals the library surfaces with Salesforce's error codes.
    expect_error(lambda: sf.query("SELECT Bogus FROM Lead"), SalesforceMalformedRequest, "INVALID_FIELD", "bad field")
    expect_error(lambda: sf.query("SELECT Id FROM Nope"), SalesforceMalformedRequest, "INVALID_TYPE", "bad object")
    expect_error(lambda: sf.query("SELECT Id FORM Lead"), SalesforceMalformedRequest, "MALFORMED_QUERY", "bad syntax")
    expect_error(lambda: sf.Lead.create({"LastName": "NoCompany"}), SalesforceMalformedRequest,
                 "REQUIRED_FIELD_MISSING", "missing Company")

    # API usage, as the library reads it from Sforce-Limit-Info.
    usage = sf.api_usage.get("api-usage")
    check(usage is not None and usage.used > 20 and usage.total == 15000, f"api_usage: {sf.api_usage}")
    limits = sf.limits()
    check(limits["DailyApiRequests"]["Max"] == 15000, f"limits: {limits}")


def main():
    env = os.environ
    try:
        run(env["PORTICO_EMULATOR_URL"], env["PORTICO_EMULATOR_CA"], env["PORTICO_CLIENT_ID"], env["PORTICO_CLIENT_SECRET"])
    except Failed as e:
        print(f"simple-salesforce suite FAILED: {e}", file=sys.stderr)
        return 1
    print("simple-salesforce suite passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
