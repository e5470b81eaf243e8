//! Select lists whose every column is named after what it holds, so rows are decoded by
//! name: `c.model AS car_model`. Joined tables get their own prefix, which keeps names
//! unique in a join (`car_id`, `brand_id`, `owner_id`).

/// `alias.a AS prefix_a, alias.b AS prefix_b, …`
pub(crate) fn select_list(alias: &str, prefix: &str, columns: &[&str]) -> String {
    columns
        .iter()
        .map(|column| format!("{alias}.{column} AS {prefix}_{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `prefix_column`, the name under which `select_list` put a column.
pub(crate) fn named(prefix: &str, column: &str) -> String {
    format!("{prefix}_{column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aliased_with_their_prefix() {
        assert_eq!(
            select_list("c", "car", &["id", "model"]),
            "c.id AS car_id, c.model AS car_model"
        );
        assert_eq!(named("brand", "is_active"), "brand_is_active");
    }
}
