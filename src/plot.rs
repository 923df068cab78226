//! Dependency-free SVG line charts on the unit square, for ROC, PR and PRO
//! curves (the seed's Fig. 9/10 and the per-class curves of the evaluation).

use std::fmt::Write;

use crate::metrics::CurvePoint;

/// Colours that stay distinct for colour-blind readers (Okabe–Ito).
pub const PALETTE: [&str; 6] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
];

const PANEL: f64 = 300.0;
const MARGIN_LEFT: f64 = 60.0;
const MARGIN_TOP: f64 = 40.0;
const MARGIN_BOTTOM: f64 = 50.0;
const GAP: f64 = 40.0;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A polyline through the points in order (curves).
    Line,
    /// A marker at each point (scatter plots).
    Points,
}

/// One named series of points.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<CurvePoint>,
    pub style: Style,
}

/// One chart with both axes spanning [0, 1].
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// Renders panels side by side under a title as a standalone SVG document.
pub fn figure(title: &str, panels: &[Panel]) -> String {
    let width = panels.len() as f64 * (MARGIN_LEFT + PANEL + GAP) + GAP / 2.0;
    let height = MARGIN_TOP + PANEL + MARGIN_BOTTOM + 30.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        svg,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="20" text-anchor="middle" font-size="15">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    for (index, panel) in panels.iter().enumerate() {
        let left = index as f64 * (MARGIN_LEFT + PANEL + GAP) + MARGIN_LEFT;
        draw_panel(&mut svg, panel, left, MARGIN_TOP + 10.0);
    }
    svg.push_str("</svg>\n");
    svg
}

fn draw_panel(svg: &mut String, panel: &Panel, left: f64, top: f64) {
    let x = |value: f64| left + value.clamp(0.0, 1.0) * PANEL;
    let y = |value: f64| top + (1.0 - value.clamp(0.0, 1.0)) * PANEL;
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="13">{}</text>"#,
        left + PANEL / 2.0,
        top - 8.0,
        escape(&panel.title)
    );
    for tick in 0..=5 {
        let value = f64::from(tick) / 5.0;
        let _ = write!(
            svg,
            r##"<line x1="{x0}" y1="{yv}" x2="{x1}" y2="{yv}" stroke="#e4e4e4"/><line x1="{xv}" y1="{y0}" x2="{xv}" y2="{y1}" stroke="#e4e4e4"/><text x="{xl}" y="{yt}" text-anchor="end">{value:.1}</text><text x="{xv}" y="{yb}" text-anchor="middle">{value:.1}</text>"##,
            x0 = x(0.0),
            x1 = x(1.0),
            y0 = y(0.0),
            y1 = y(1.0),
            xv = x(value),
            yv = y(value),
            xl = x(0.0) - 6.0,
            yt = y(value) + 4.0,
            yb = y(0.0) + 16.0,
        );
    }
    let _ = write!(
        svg,
        r##"<rect x="{left}" y="{top}" width="{PANEL}" height="{PANEL}" fill="none" stroke="#333"/><text x="{}" y="{}" text-anchor="middle">{}</text><text transform="translate({},{}) rotate(-90)" text-anchor="middle">{}</text>"##,
        left + PANEL / 2.0,
        y(0.0) + 36.0,
        escape(&panel.x_label),
        left - 42.0,
        top + PANEL / 2.0,
        escape(&panel.y_label)
    );
    for (index, series) in panel.series.iter().enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        match series.style {
            Style::Line => {
                let mut path = String::new();
                for point in &series.points {
                    let _ = write!(path, "{:.2},{:.2} ", x(point.x), y(point.y));
                }
                let _ = write!(
                    svg,
                    r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                    path.trim_end()
                );
            }
            Style::Points => {
                for point in &series.points {
                    let _ = write!(
                        svg,
                        r#"<circle cx="{:.2}" cy="{:.2}" r="4" fill="{colour}" fill-opacity="0.8"/>"#,
                        x(point.x),
                        y(point.y)
                    );
                }
            }
        }
        let legend_y = top + PANEL - 12.0 - 16.0 * (panel.series.len() - 1 - index) as f64;
        let _ = write!(
            svg,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
            left + PANEL - 150.0,
            left + PANEL - 130.0,
            left + PANEL - 125.0,
            legend_y + 4.0,
            escape(&series.label),
            ly = legend_y,
        );
    }
}

/// Escapes text for SVG (XML) content and attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_places_points_on_the_unit_square() {
        let panel = Panel {
            title: "ROC <A & B>".into(),
            x_label: "FPR".into(),
            y_label: "TPR".into(),
            series: vec![Series {
                label: "model".into(),
                points: vec![CurvePoint { x: 0.0, y: 0.0 }, CurvePoint { x: 1.0, y: 1.0 }],
                style: Style::Line,
            }],
        };
        let svg = figure("Fig", &[panel]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("ROC &lt;A &amp; B&gt;"));
        // (0,0) is the panel's bottom-left corner, (1,1) its top-right corner.
        let bottom = MARGIN_TOP + 10.0 + PANEL;
        let expected = format!(
            "points=\"{:.2},{:.2} {:.2},{:.2}\"",
            MARGIN_LEFT,
            bottom,
            MARGIN_LEFT + PANEL,
            MARGIN_TOP + 10.0
        );
        assert!(svg.contains(&expected), "{svg}");
    }

    #[test]
    fn points_are_drawn_as_markers() {
        let panel = Panel {
            title: "scatter".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series {
                label: "s".into(),
                points: vec![CurvePoint { x: 0.5, y: 0.5 }],
                style: Style::Points,
            }],
        };
        let svg = figure("Fig", &[panel]);
        let centre = format!(
            r#"<circle cx="{:.2}" cy="{:.2}""#,
            MARGIN_LEFT + PANEL / 2.0,
            MARGIN_TOP + 10.0 + PANEL / 2.0
        );
        assert!(svg.contains(&centre), "{svg}");
        assert!(!svg.contains("<polyline"));
    }
}
