//! Parts of a step's state that most steps never use (a gate's votes, a service's
//! probing): held behind a pointer made on the first write, and read as their default
//! until then. In a 100,000-step run of plain steps they were most of the core's
//! memory (issue 29, point 3).
use std::ops::{Deref, DerefMut};

/// What a part reads as before anything is written to it.
pub(super) trait Blank: Default + Sized + 'static {
    fn blank() -> &'static Self;
}

#[derive(Debug, Clone, Default)]
pub(super) struct Sparse<T>(Option<Box<T>>);

impl<T> Sparse<T> {
    /// The part, if anything was ever written to it: for a write that need not happen
    /// (taking a value that is usually absent) without making the part.
    pub(crate) fn written(&mut self) -> Option<&mut T> {
        self.0.as_deref_mut()
    }
}

#[cfg(test)]
impl<T> Sparse<T> {
    /// Nothing was ever written to it.
    pub(crate) fn is_blank(&self) -> bool {
        self.0.is_none()
    }
}

impl<T: Blank> Deref for Sparse<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(part) => part,
            None => T::blank(),
        }
    }
}

impl<T: Blank> DerefMut for Sparse<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

macro_rules! blank {
    ($t:ty) => {
        impl Blank for $t {
            fn blank() -> &'static Self {
                static BLANK: std::sync::LazyLock<$t> = std::sync::LazyLock::new(<$t>::default);
                &BLANK
            }
        }
    };
}
pub(super) use blank;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Default, PartialEq)]
    struct Part {
        votes: Vec<String>,
        warned: bool,
    }
    blank!(Part);

    #[test]
    fn reads_as_its_default_and_is_made_on_the_first_write_only() {
        let mut p: Sparse<Part> = Sparse::default();
        assert_eq!(*p, Part::default());
        assert!(!p.warned);
        assert!(p.written().is_none(), "reading made nothing");
        p.votes.push("ann".into());
        assert_eq!(p.written().map(|p| p.votes.len()), Some(1));
        assert_eq!(p.clone().votes, vec!["ann".to_string()]);
    }
}
