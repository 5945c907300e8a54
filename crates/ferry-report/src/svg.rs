//! SVG drawing of the dependency graph (placeholder).
