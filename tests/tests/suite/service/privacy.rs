//! Personal data through the API: erasure of one person by email, and what is left afterwards.

use super::*;
use serde_json::json;

#[tokio::test]
async fn an_erasure_through_the_api_removes_the_persons_booking_and_audit_values() {
    let service = sqlite_service(|_| {}).await;
    let org = emulator().await;
    let acme = tenant(&service, "acme", "lead-event", &org).await;
    let globex = tenant(&service, "globex", "lead-event", &org).await;
    let job = acme.finished(&acme.send_sample("lead-event", "new-lead").await).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let other = globex.finished(&globex.send_sample("lead-event", "new-lead").await).await;
    assert!(job["booking"].to_string().contains("Ada@Analytical.example"), "{job}");

    let refused = acme.api.post("/v1/tenants/acme/erasures", &json!({"email": "nobody"})).await.unwrap();
    assert_eq!((refused.status.as_u16(), refused.body["code"].as_str()), (400, Some("bad-email")));
    let erased =
        acme.api.post("/v1/tenants/acme/erasures", &json!({"email": " ada@ANALYTICAL.example "})).await.unwrap();
    let erased = erased.ok().unwrap();
    assert_eq!(erased["jobs"], 1, "{erased}");
    assert!(erased["audit_rows"].as_u64().unwrap() >= 1, "{erased}");
    assert!(!erased.to_string().to_lowercase().contains("ada@analytical"), "the address itself is not kept: {erased}");

    let after = acme.get(&format!("/jobs/{}", job["id"])).await;
    assert!(!after.to_string().to_lowercase().contains("ada@analytical"), "{after}");
    assert_eq!(after["state"], "succeeded");
    let audit = acme.get("/audit").await;
    assert!(!audit.to_string().to_lowercase().contains("ada@analytical"), "{audit}");
    let list = acme.get("/erasures").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["email_sha256"], erased["email_sha256"]);

    // Another tenant's data about the same person stays: the request was acme's.
    let untouched = globex.get(&format!("/jobs/{}", other["id"])).await;
    assert!(untouched["booking"].to_string().contains("Ada@Analytical.example"), "{untouched}");
    service.running.shutdown().await.unwrap();
}
