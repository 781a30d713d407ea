//! Status explanations and the default error page.

use http::StatusCode;

/// A one-sentence explanation of a status for error pages (Python's
/// `BaseHTTPRequestHandler.responses` long messages).
pub(crate) fn explanation(code: StatusCode) -> &'static str {
    match code.as_u16() {
        100 => "Request received, please continue",
        101 => "Switching to new protocol; obey Upgrade header",
        200 => "Request fulfilled, document follows",
        201 => "Document created, URL follows",
        202 => "Request accepted, processing continues off-line",
        204 => "Request fulfilled, nothing follows",
        206 => "Partial content follows",
        301 => "Object moved permanently -- see URI list",
        302 => "Object moved temporarily -- see URI list",
        303 => "Object moved -- see Method and URL list",
        304 => "Document has not changed since given time",
        307 => "Object moved temporarily -- see URI list",
        308 => "Object moved permanently -- see URI list",
        400 => "Bad request syntax or unsupported method",
        401 => "No permission -- see authorization schemes",
        403 => "Request forbidden -- authorization will not help",
        404 => "Nothing matches the given URI",
        405 => "Specified method is invalid for this resource",
        406 => "URI not available in preferred format",
        408 => "Request timed out; try again later",
        409 => "Request conflict",
        410 => "URI no longer exists and has been permanently removed",
        411 => "Client must specify Content-Length",
        412 => "Precondition in headers is false",
        413 => "Content is too large",
        414 => "URI is too long",
        415 => "Entity body in unsupported format",
        416 => "Cannot satisfy request range",
        417 => "Expect condition could not be satisfied",
        421 => "The request was directed at a server that is not able to produce a response",
        422 => "The server understood the content but could not process it",
        426 => "Upgrade to a different protocol is required",
        428 => "The origin server requires the request to be conditional",
        429 => "The user has sent too many requests in a given amount of time",
        431 => {
            "The server is unwilling to process the request because its header fields are too large"
        }
        500 => "Server got itself in trouble",
        501 => "Server does not support this operation",
        502 => "Invalid responses from another server/proxy",
        503 => "The server cannot process the request due to a high load",
        504 => "The gateway server did not receive a timely response",
        505 => "Cannot fulfill request",
        _ => "???",
    }
}

/// Escapes `&`, `<` and `>` for HTML text, and with `quote` also `"` and
/// `'` for attribute values, as Python's `html.escape(s, quote)`.
pub(crate) fn html_escape(s: &str, quote: bool) -> String {
    let mut out = String::with_capacity(s.len());
    html_escape_into(s, quote, &mut out);
    out
}

/// [`html_escape`], appending to `out`.
pub(crate) fn html_escape_into(s: &str, quote: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quote => out.push_str("&quot;"),
            '\'' if quote => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
}

/// The default error page. `message` and `explain` must already be escaped.
pub(crate) fn default_error_page(code: StatusCode, message: &str, explain: &str) -> String {
    let code = code.as_u16();
    format!(
        "<!DOCTYPE HTML>\n\
         <html lang=\"en\">\n\
         \x20   <head>\n\
         \x20       <meta charset=\"utf-8\">\n\
         \x20       <title>Error response</title>\n\
         \x20   </head>\n\
         \x20   <body>\n\
         \x20       <h1>Error response</h1>\n\
         \x20       <p>Error code: {code}</p>\n\
         \x20       <p>Message: {message}.</p>\n\
         \x20       <p>Error code explanation: {code} - {explain}.</p>\n\
         \x20   </body>\n\
         </html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            html_escape("<a href='x'>&\"</a>", false),
            "&lt;a href='x'&gt;&amp;\"&lt;/a&gt;"
        );
        assert_eq!(
            html_escape("<a href='x'>&\"</a>", true),
            "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn page_names_code_message_and_explanation() {
        let page = default_error_page(
            StatusCode::NOT_FOUND,
            "Not Found",
            explanation(StatusCode::NOT_FOUND),
        );
        assert!(page.contains("<p>Error code: 404</p>"));
        assert!(page.contains("<p>Message: Not Found.</p>"));
        assert!(page.contains("404 - Nothing matches the given URI."));
    }
}
