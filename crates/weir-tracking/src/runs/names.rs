//! Random run names such as `brisk-otter-417`, given to runs created without a name.
//!
//! MLflow 3.17.2 names such runs `<adjective>-<noun>-<number>` with a number from 0 to 1000
//! and at most 20 characters. Weir keeps that form with its own word lists, whose words are
//! at most 6 letters so every name fits in 20 characters.

use uuid::Uuid;

const ADJECTIVES: &[&str] = &[
    "amber", "bold", "brave", "bright", "brisk", "calm", "clever", "cosy", "crisp", "dapper",
    "eager", "fancy", "gentle", "glossy", "humble", "jolly", "keen", "lively", "mellow", "nimble",
    "polite", "proud", "quiet", "rapid", "shiny", "sunny", "swift", "tidy", "vivid", "witty",
];

const NOUNS: &[&str] = &[
    "badger", "bison", "cedar", "comet", "delta", "ember", "falcon", "fjord", "gecko", "harbor",
    "heron", "iris", "koala", "lemur", "lynx", "maple", "moose", "newt", "orca", "otter", "panda",
    "pebble", "quail", "raven", "robin", "salmon", "tulip", "walrus", "willow", "yak",
];

/// The highest number a generated name ends with.
const MAX_NUMBER: u128 = 1000;

/// Generates a run name from a random adjective, noun and number.
pub fn random_run_name() -> String {
    // A version 4 UUID carries 122 random bits, plenty for three independent choices.
    let mut bits = Uuid::new_v4().as_u128();
    let mut pick = |choices: u128| {
        let choice = bits % choices;
        bits /= choices;
        // Every choice count is far below usize::MAX, so the value always fits.
        usize::try_from(choice).unwrap_or(0)
    };
    let adjective = ADJECTIVES[pick(ADJECTIVES.len() as u128)];
    let noun = NOUNS[pick(NOUNS.len() as u128)];
    let number = pick(MAX_NUMBER + 1);
    format!("{adjective}-{noun}-{number}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_three_parts_and_fit_mlflow_length() {
        for _ in 0..200 {
            let name = random_run_name();
            let parts: Vec<&str> = name.split('-').collect();
            assert_eq!(parts.len(), 3, "{name}");
            assert!(ADJECTIVES.contains(&parts[0]), "{name}");
            assert!(NOUNS.contains(&parts[1]), "{name}");
            let number: u32 = parts[2].parse().expect("number part");
            assert!(number <= 1000, "{name}");
            assert!(name.len() <= 20, "{name}");
        }
    }

    #[test]
    fn word_lists_keep_names_within_twenty_characters() {
        let longest_adjective = ADJECTIVES.iter().map(|word| word.len()).max().unwrap_or(0);
        let longest_noun = NOUNS.iter().map(|word| word.len()).max().unwrap_or(0);
        assert!(longest_adjective + longest_noun + "--1000".len() <= 20);
    }
}
