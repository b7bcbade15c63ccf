//! A budget raise as an operator types it (`cost=2.5`, `calls=100`): one reading for
//! `baton approve RUN --raise` and the console's budget dialog, so both say a bad
//! amount in the same words. Whether the amounts raise anything is the core's to say
//! (`nothing_to_raise`, `bad_raise`), never a front end's.

/// The amounts of one raise, by limit, as typed (not yet judged).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Raise {
    pub cost: Option<f64>,
    pub calls: Option<u64>,
    pub tokens: Option<u64>,
}

/// A raise's text that names no limit, or no amount of one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaiseError {
    #[error("{limit}: `{text}` is not an amount")]
    NotAnAmount { limit: String, text: String },
    #[error("`{0}`: expected cost=<number>, calls=<integer> or tokens=<integer>")]
    NoLimit(String),
}

impl Raise {
    /// `limit` (`cost`, `calls` or `tokens`) raised by `text`: a number for the cost, a
    /// whole number for the others.
    pub fn set(&mut self, limit: &str, text: &str) -> Result<(), RaiseError> {
        let t = text.trim();
        let bad = || RaiseError::NotAnAmount {
            limit: limit.to_string(),
            text: t.to_string(),
        };
        match limit {
            "cost" => self.cost = Some(t.parse().map_err(|_| bad())?),
            "calls" => self.calls = Some(t.parse().map_err(|_| bad())?),
            "tokens" => self.tokens = Some(t.parse().map_err(|_| bad())?),
            _ => return Err(RaiseError::NoLimit(format!("{limit}={text}"))),
        }
        Ok(())
    }

    /// `LIMIT=N`, as `--raise` takes it.
    pub fn set_pair(&mut self, pair: &str) -> Result<(), RaiseError> {
        match pair.split_once('=') {
            Some((limit, text)) => self.set(limit.trim(), text),
            None => Err(RaiseError::NoLimit(pair.to_string())),
        }
    }

    /// Whether an amount is one the core refuses (`bad_raise`): a cost that is not a
    /// number above 0, calls or tokens of 0. The core asks it; front ends do not.
    pub fn is_bad(&self) -> bool {
        self.cost.is_some_and(|c| !c.is_finite() || c <= 0.0)
            || self.calls == Some(0)
            || self.tokens == Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_and_judged_apart() {
        let mut r = Raise::default();
        r.set_pair("cost=2.5").unwrap();
        r.set("calls", " 10 ").unwrap();
        assert_eq!(
            r,
            Raise {
                cost: Some(2.5),
                calls: Some(10),
                tokens: None
            }
        );
        assert!(!r.is_bad());
        assert_eq!(
            r.set("calls", "x").unwrap_err().to_string(),
            "calls: `x` is not an amount"
        );
        assert_eq!(
            r.set_pair("cost").unwrap_err(),
            RaiseError::NoLimit("cost".into())
        );
        assert!(r.set_pair("speed=3").is_err());
        // Read, then judged by the core: zero or a negative cost is a bad raise.
        for bad in ["cost=0", "cost=-1", "cost=inf", "calls=0", "tokens=0"] {
            let mut r = Raise::default();
            r.set_pair(bad).unwrap();
            assert!(r.is_bad(), "{bad}");
        }
    }
}
