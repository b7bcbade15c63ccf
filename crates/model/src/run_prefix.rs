//! The run id as a person reads and types it (issue 45 point 4): the shortest prefix
//! no other run in the store starts with, never under [`MIN`] characters (a prefix as
//! short as the store allows today would need more characters tomorrow, and a list
//! whose ids change length with every new run is hard to read). `baton` resolves every
//! prefix it prints to exactly its run.

/// The fewest characters a printed run id has (the first 8 of a ULID change about
/// once a second).
pub const MIN: usize = 8;

/// How many characters of `id` tell it apart from every id in `others` (the ids
/// sorted next to it are enough: the longest prefix `id` shares with any id is shared
/// with a neighbour in order), at least [`MIN`] and at most the whole id.
pub fn len<'a>(id: &str, others: impl IntoIterator<Item = &'a str>) -> usize {
    let shared = others
        .into_iter()
        .filter(|o| *o != id)
        .map(|o| {
            o.chars()
                .zip(id.chars())
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap_or(0);
    (shared + 1).max(MIN).min(id.chars().count())
}

/// The first `n` characters of `id` (all of it when shorter).
pub fn take(id: &str, n: usize) -> &str {
    match id.char_indices().nth(n) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

/// [`len`]'s prefix of `id`.
pub fn prefix<'i, 'a>(id: &'i str, others: impl IntoIterator<Item = &'a str>) -> &'i str {
    take(id, len(id, others))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_one_character_longer_than_what_any_other_id_shares() {
        let ids = ["01m88c0aaaaa", "01m88c0aaabb", "01m99zzzzzzz"];
        assert_eq!(prefix(ids[0], ids), "01m88c0aaaa");
        assert_eq!(prefix(ids[1], ids), "01m88c0aaab");
        assert_eq!(prefix(ids[2], ids), "01m99zzz");
        assert_eq!(prefix("01m99zzzzzzz", []), "01m99zzz");
        assert_eq!(prefix("short", []), "short");
        // An id that is a prefix of another is printed whole (an exact match wins).
        assert_eq!(prefix("01m88c0aa", ["01m88c0aaabb"]), "01m88c0aa");
    }
}
