//! The canonical printer: model back to keepalived.conf text.

use crate::model::Config;

pub(crate) fn print(cfg: &Config) -> String {
    let _ = cfg;
    String::new()
}
