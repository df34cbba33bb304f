//! The report pages.

use crate::record::RunInfo;

/// Escapes text for HTML.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1250px;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #ddd;padding:4px 12px;text-align:left}\
figure{display:inline-block;margin:0 1em 1.5em 0;vertical-align:top}img{max-width:100%;border:1px solid #eee}\
figcaption{font-size:90%;color:#555}.note{color:#555}";

/// A figure on a page: file stem (PNG shown, SVG linked) and caption.
pub(crate) struct Shown {
    pub(crate) stem: String,
    pub(crate) caption: String,
}

fn figure(f: &Shown) -> String {
    format!(
        "<figure><a href=\"{0}.svg\"><img src=\"{0}.png\" alt=\"{1}\"></a><figcaption>{1} \
         (<a href=\"{0}.svg\">SVG</a>)</figcaption></figure>\n",
        escape(&f.stem),
        escape(&f.caption)
    )
}

/// One run's page.
pub(crate) fn run_page(info: &RunInfo, overview: &[Shown], series: &[Shown], notes: &[String]) -> String {
    let mut s = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title><style>{STYLE}</style></head><body>\n\
         <h1>{0}</h1>\n<p><b>{1}</b>. {2}</p>\n",
        escape(&info.title),
        escape(&info.kind),
        escape(&info.protocol)
    );
    if !info.figures.is_empty() {
        s += "<table>\n";
        for (name, value) in &info.figures {
            s += &format!("<tr><th>{}</th><td>{}</td></tr>\n", escape(name), escape(value));
        }
        s += "</table>\n";
    }
    for n in notes {
        s += &format!("<p class=\"note\">{}</p>\n", escape(n));
    }
    s += "<p class=\"note\">Red shading: labelled anomalies. Red marks: what the detector flagged. \
          Orange dashes: the threshold.</p>\n";
    for f in overview {
        s += &figure(f);
    }
    if !series.is_empty() {
        s += "<h2>Series</h2>\n";
        for f in series {
            s += &figure(f);
        }
    }
    s + "</body></html>\n"
}

/// The index of several runs (a benchmark's detectors): one row per run.
pub(crate) fn index_page(title: &str, runs: &[(String, RunInfo)]) -> String {
    let mut s = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title><style>{STYLE}</style></head><body>\n\
         <h1>{0}</h1>\n<table>\n",
        escape(title)
    );
    let names: Vec<&str> =
        runs.first().map(|(_, i)| i.figures.iter().map(|f| f.0.as_str()).collect()).unwrap_or_default();
    s += "<tr><th>run</th>";
    for n in &names {
        s += &format!("<th>{}</th>", escape(n));
    }
    s += "</tr>\n";
    for (link, info) in runs {
        s += &format!("<tr><td><a href=\"{}\">{}</a></td>", escape(link), escape(&info.title));
        for n in &names {
            let v = info.figures.iter().find(|f| f.0 == *n).map_or("", |f| f.1.as_str());
            s += &format!("<td>{}</td>", escape(v));
        }
        s += "</tr>\n";
    }
    s + "</table>\n</body></html>\n"
}
