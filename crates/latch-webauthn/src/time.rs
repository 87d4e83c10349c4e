//! Time comes in from the caller: the core never reads a clock.

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch, as the caller's clock says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// The time in milliseconds (SafetyNet and MDS carry milliseconds).
    pub fn millis(self) -> i64 {
        self.0.saturating_mul(1000)
    }
}
