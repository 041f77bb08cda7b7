//! `GET /docs`: the OpenAPI document as one HTML page to read in a browser.
//!
//! The page is rendered here from the document itself, with no script and nothing
//! fetched from elsewhere, so it works on a machine without internet access. It shows
//! what a reader needs (operations by tag, parameters, bodies, answers, schemas,
//! security schemes); for trying requests, load `/openapi.json` into any OpenAPI tool.

use std::fmt::Write;

use axum::response::Html;
use serde_json::Value;

use crate::openapi;

/// A reference page of this API.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "service",
    responses((status = 200, description = "The reference page", content_type = "text/html")),
)]
pub async fn get_docs() -> Html<String> {
    let document = serde_json::to_value(openapi::document()).unwrap_or_default();
    Html(render(&document))
}

const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;\
padding:0 1rem;color:#222}h1,h2,h3{line-height:1.2}code,pre{font:13px ui-monospace,monospace}\
pre{background:#f5f5f5;padding:.6rem;overflow:auto}details{border:1px solid #ddd;\
border-radius:4px;margin:.5rem 0;padding:.3rem .6rem}summary{cursor:pointer}\
.m{display:inline-block;min-width:4.5rem;font-weight:bold;text-transform:uppercase}\
.get{color:#1565c0}.post{color:#2e7d32}.put,.patch{color:#ef6c00}.delete{color:#c62828}\
table{border-collapse:collapse;width:100%;margin:.4rem 0}td,th{border:1px solid #ddd;\
padding:.25rem .5rem;text-align:left;vertical-align:top}";

/// The page for `document`, an OpenAPI document as JSON.
pub fn render(document: &Value) -> String {
    let info = &document["info"];
    let title = text(&info["title"]);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title} API reference</title><style>{STYLE}</style></head><body>\
         <h1>{title} API reference</h1><p>Version {version}. The machine-readable \
         document is at <a href=\"openapi.json\"><code>/openapi.json</code></a> \
         (OpenAPI {openapi}).</p>{description}",
        version = text(&info["version"]),
        openapi = text(&document["openapi"]),
        description = paragraphs(&info["description"]),
    );

    for tag in document["tags"].as_array().into_iter().flatten() {
        let name = text(&tag["name"]);
        let _ = write!(page, "<h2>{name}</h2><p>{}</p>", text(&tag["description"]));
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let operation = &item[method];
                let tagged = operation["tags"]
                    .as_array()
                    .is_some_and(|tags| tags.iter().any(|t| t.as_str() == tag["name"].as_str()));
                if tagged {
                    render_operation(&mut page, method, path, operation, document);
                }
            }
        }
    }

    page.push_str("<h2>Security schemes</h2><table><tr><th>name</th><th>how</th><th></th></tr>");
    let components = &document["components"];
    for (name, scheme) in components["securitySchemes"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let how = match scheme["type"].as_str() {
            Some("apiKey") => format!(
                "<code>{}</code> in the {}",
                text(&scheme["name"]),
                text(&scheme["in"])
            ),
            _ => format!("HTTP {}", text(&scheme["scheme"])),
        };
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{how}</td><td>{}</td></tr>",
            escape(name),
            text(&scheme["description"])
        );
    }
    page.push_str("</table><h2>Schemas</h2>");
    for (name, schema) in components["schemas"].as_object().into_iter().flatten() {
        let _ = write!(
            page,
            "<h3 id=\"schema-{name}\">{name}</h3><pre>{}</pre>",
            pretty(schema),
            name = escape(name)
        );
    }
    page.push_str("</body></html>\n");
    page
}

fn render_operation(
    page: &mut String,
    method: &str,
    path: &str,
    operation: &Value,
    document: &Value,
) {
    let _ = write!(
        page,
        "<details id=\"{id}\"><summary><span class=\"m {method}\">{method}</span> \
         <code>{path}</code> {summary}</summary>{description}",
        id = text(&operation["operationId"]),
        path = escape(path),
        summary = text(&operation["summary"]),
        description = paragraphs(&operation["description"]),
    );

    if let Some(parameters) = operation["parameters"].as_array() {
        page.push_str(
            "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>schema</th>\
             <th></th></tr>",
        );
        for parameter in parameters {
            let required = if parameter["required"] == true {
                " (required)"
            } else {
                ""
            };
            let _ = write!(
                page,
                "<tr><td><code>{}</code>{required}</td><td>{}</td><td><code>{}</code></td>\
                 <td>{}</td></tr>",
                text(&parameter["name"]),
                text(&parameter["in"]),
                escape(&parameter["schema"].to_string()),
                text(&parameter["description"]),
            );
        }
        page.push_str("</table>");
    }

    let body = &operation["requestBody"];
    if let Some(content) = body["content"].as_object() {
        page.push_str("<h4>Body</h4>");
        for (media_type, media) in content {
            let _ = write!(
                page,
                "<p><code>{}</code>: {}</p>",
                escape(media_type),
                schema_link(&media["schema"])
            );
        }
    }

    page.push_str("<h4>Answers</h4><table><tr><th>status</th><th></th><th>body</th></tr>");
    for (status, response) in operation["responses"].as_object().into_iter().flatten() {
        let response = resolve(response, document);
        let bodies: Vec<String> = response["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(media_type, media)| {
                format!(
                    "<code>{}</code> {}",
                    escape(media_type),
                    schema_link(&media["schema"])
                )
            })
            .collect();
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(status),
            text(&response["description"]),
            bodies.join("<br>")
        );
    }
    page.push_str("</table></details>");
}

/// The object `value` refers to with `$ref`, or `value` itself.
fn resolve<'a>(value: &'a Value, document: &'a Value) -> &'a Value {
    let Some(pointer) = value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) else {
        return value;
    };
    document.pointer(pointer).unwrap_or(value)
}

/// A link to a named schema, or the schema itself when it has no name.
fn schema_link(schema: &Value) -> String {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = escape(reference.rsplit('/').next().unwrap_or_default());
            format!("<a href=\"#schema-{name}\">{name}</a>")
        }
        None if schema.is_null() => String::new(),
        None => format!("<code>{}</code>", escape(&schema.to_string())),
    }
}

fn pretty(value: &Value) -> String {
    escape(&serde_json::to_string_pretty(value).unwrap_or_default())
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => escape(s),
        Value::Null => String::new(),
        other => escape(&other.to_string()),
    }
}

/// Markdown-ish text as paragraphs; backticks become code.
fn paragraphs(value: &Value) -> String {
    let Some(raw) = value.as_str() else {
        return String::new();
    };
    raw.split("\n\n")
        .map(|paragraph| {
            let mut html = String::from("<p>");
            for (i, piece) in escape(paragraph).split('`').enumerate() {
                if i % 2 == 1 {
                    let _ = write!(html, "<code>{piece}</code>");
                } else {
                    html.push_str(piece);
                }
            }
            html.push_str("</p>");
            html
        })
        .collect()
}

fn escape(raw: &str) -> String {
    let mut escaped = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_shows_every_operation_and_escapes_text() {
        let document = serde_json::to_value(openapi::document()).unwrap();
        let page = render(&document);
        for id in [
            "issue_token",
            "list_account_users",
            "delete_account_user_v1",
            "get_metrics",
        ] {
            assert!(page.contains(&format!("id=\"{id}\"")), "{id} missing");
        }
        assert!(page.contains("<code>/apps/{app_key}/account_users/{id}</code>"));
        assert!(!page.contains("<script"));
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
