//! The replay transport: recorded messages, sent in order (tests, and
//! replaying a capture).

use tokio::sync::mpsc;

use super::interface::{Message, Source};
use crate::error::Result;

/// Recorded messages, sent in order (tests, and replaying a capture).
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// The messages.
    pub messages: Vec<Message>,
}

impl Source for Replay {
    async fn run(self, tx: mpsc::Sender<Message>) -> Result<()> {
        for (i, mut m) in self.messages.into_iter().enumerate() {
            m.seq = i as u64 + 1;
            if tx.send(m).await.is_err() {
                break;
            }
        }
        Ok(())
    }
}
