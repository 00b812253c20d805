//! Route names: dot-joined camelCase paths.

/// `get_profile` → `getProfile`; already camelCase names stay as they are.
pub(crate) fn camel_case(ident: &str) -> String {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let mut out = String::with_capacity(ident.len());
    let mut upper = false;
    for (i, c) in ident.chars().enumerate() {
        if c == '_' {
            upper = i > 0 && !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `message` → `MESSAGE`, `user_joined` → `USER_JOINED`.
pub(crate) fn screaming(ident: &str) -> String {
    ident.strip_prefix("r#").unwrap_or(ident).to_uppercase()
}

/// The closest of `options` to `word`, when it is a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, options: &[&'a str]) -> Option<&'a str> {
    options
        .iter()
        .map(|o| (distance(word, o), *o))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_camel_case() {
        assert_eq!(camel_case("get_profile"), "getProfile");
        assert_eq!(camel_case("send"), "send");
        assert_eq!(camel_case("getProfile"), "getProfile");
        assert_eq!(camel_case("r#type"), "type");
        assert_eq!(camel_case("a_b_c"), "aBC");
    }

    #[test]
    fn suggests_close_keys() {
        assert_eq!(
            did_you_mean("mesage", &["message", "event", "name"]),
            Some("message")
        );
        assert_eq!(did_you_mean("colour", &["message", "event", "name"]), None);
    }
}
