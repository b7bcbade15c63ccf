//! Round-robin over the executors offering a step's labels: each attempt starts on the
//! next one in turn, skipping one that did not answer within the last `DOWN_FOR` (and
//! trying the next at once when the one in turn does not answer now). Which executor
//! ran an attempt is in its placement (the job record `show` prints).
use super::ExecError;
use super::ShellJob;
use super::backend::{Attempt, Backend, BoxFuture};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an executor that did not answer is passed over (unless all are).
pub(crate) const DOWN_FOR: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Spread {
    members: Vec<Arc<dyn Backend>>,
    /// Whose turn it is: the one after the last that took a step (so a member passed
    /// over does not hand its turns to one neighbour alone).
    next: Mutex<usize>,
    /// When each member last did not answer.
    down: Mutex<Vec<Option<Instant>>>,
}

/// The order to try `n` members in, starting at `first`: those not down first (pure).
pub(crate) fn order(first: usize, down: &[bool]) -> Vec<usize> {
    let n = down.len();
    let turn = (0..n).map(|k| (first + k) % n);
    let up = turn.clone().filter(|&i| !down[i]);
    let rest = turn.filter(|&i| down[i]);
    up.chain(rest).collect()
}

impl Spread {
    pub fn new(members: Vec<Arc<dyn Backend>>) -> Spread {
        let n = members.len();
        Spread {
            members,
            next: Mutex::new(0),
            down: Mutex::new(vec![None; n]),
        }
    }

    pub fn members(&self) -> &[Arc<dyn Backend>] {
        &self.members
    }

    /// Start the attempt on the member in turn, or on the next when that one is down.
    pub async fn take_turn(
        &self,
        job: ShellJob,
        timeout: Option<Duration>,
    ) -> Result<Box<dyn Attempt>, ExecError> {
        let n = self.members.len().max(1);
        let down: Vec<bool> = {
            let d = self.down.lock().unwrap_or_else(|e| e.into_inner());
            d.iter()
                .map(|t| t.is_some_and(|t| t.elapsed() < DOWN_FOR))
                .collect()
        };
        let turns = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let turns = order(*next % n, &down);
            // Claimed now: steps starting at the same time take different members.
            *next = turns.first().map_or(0, |i| (i + 1) % n);
            turns
        };
        let mut last = None;
        for i in turns {
            match Arc::clone(&self.members[i])
                .start(job.clone(), timeout)
                .await
            {
                Ok(a) => {
                    self.down.lock().unwrap_or_else(|e| e.into_inner())[i] = None;
                    return Ok(a);
                }
                Err(e @ ExecError::HostDown { .. }) => {
                    self.down.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(Instant::now());
                    // The turn passes on: the next step starts after the one trying now.
                    *self.next.lock().unwrap_or_else(|e| e.into_inner()) = (i + 2) % n;
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(ExecError::Spawn {
            message: "no executor offers the step's labels".into(),
            log_path: None,
        }))
    }
}

impl Backend for Spread {
    fn name(&self) -> &str {
        "spread"
    }

    fn start(
        self: Arc<Self>,
        job: ShellJob,
        timeout: Option<Duration>,
    ) -> BoxFuture<Result<Box<dyn Attempt>, ExecError>> {
        Box::pin(async move { self.take_turn(job, timeout).await })
    }

    /// The driver re-attaches on the member named in the record.
    fn reattach(
        self: Arc<Self>,
        _job: ShellJob,
        job_id: &str,
        _frozen: bool,
    ) -> Result<Box<dyn Attempt>, ExecError> {
        Err(ExecError::Spawn {
            message: format!("job {job_id} names no executor to follow it on"),
            log_path: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::order;

    #[test]
    fn turns_rotate_and_pass_over_the_down() {
        assert_eq!(order(0, &[false, false, false]), [0, 1, 2]);
        assert_eq!(order(2, &[false, false, false]), [2, 0, 1]);
        assert_eq!(order(1, &[false, true, false]), [2, 0, 1]);
        assert_eq!(order(0, &[true, true]), [0, 1]);
    }
}
