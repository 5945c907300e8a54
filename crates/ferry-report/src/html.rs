//! Placeholder while the renderer is written.

use std::io::{self, Write};

use ferry_analysis::Assessment;

/// Writes the assessment.
pub fn write(_a: &Assessment, _out: &mut dyn Write) -> io::Result<()> {
    Ok(())
}
