//! What Portico writes to people. Plain text; each token stands on a line of its own, short
//! enough that no transfer encoding breaks it.

/// An invitation: `(subject, body)`.
pub fn invitation(public_url: &str, tenant: &str, role: &str, token: &str, hours: u64) -> (String, String) {
    let base = public_url.trim_end_matches('/');
    let body = format!(
        "You have been invited to the Portico tenant `{tenant}` with the role `{role}`.\n\n\
         Accept the invitation and set your password at\n{base}/accept-invitation\nwith this code:\n\n\
         {token}\n\n\
         (Through the API: POST {base}/v1/invitations/accept with {{\"token\": \"<the code>\", \"password\": \"...\"}}.)\n\
         The invitation works once and expires in {hours} hours. If you did not expect it, ignore this mail.\n"
    );
    (format!("Your invitation to {tenant} on Portico"), body)
}

/// A password reset link: `(subject, body)`.
pub fn reset(public_url: &str, token: &str, minutes: u64) -> (String, String) {
    let base = public_url.trim_end_matches('/');
    let body = format!(
        "A new password was requested for your Portico account.\n\n\
         Set it at\n{base}/reset-password\nwith this code:\n\n\
         {token}\n\n\
         (Through the API: POST {base}/v1/password/reset with {{\"token\": \"<the code>\", \"password\": \"...\"}}.)\n\
         The code works once, for {minutes} minutes. If you did not ask for it, ignore this mail: your password is unchanged.\n"
    );
    ("Reset your Portico password".to_owned(), body)
}

/// A sign-in code: `(subject, body)`.
pub fn code(code: &str, minutes: u64) -> (String, String) {
    let body = format!(
        "Your Portico sign-in code:\n\n{code}\n\nIt works once, for {minutes} minutes. If you are not signing in, \
         someone knows your password: change it.\n"
    );
    (format!("Portico sign-in code {code}"), body)
}
