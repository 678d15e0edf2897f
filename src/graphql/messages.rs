//! async-graphql's own messages (syntax, validation, input coercion) in both languages the
//! users read, like every other message: the common ones in Chinese, the rest behind a
//! Chinese prefix.

use crate::error::Lang;

/// A message of async-graphql's in `lang`.
pub fn localize(en: &str, lang: Lang) -> String {
    match lang {
        Lang::En => english(en),
        Lang::Zh => chinese(en).unwrap_or_else(|| format!("请求无效：{en}")),
    }
}

/// The strings between double quotes, in order.
fn quoted(message: &str) -> Vec<&str> {
    message.split('"').skip(1).step_by(2).collect()
}

/// The names after "Did you mean", if any.
fn suggestions(message: &str) -> Option<Vec<&str>> {
    message
        .split_once("Did you mean")
        .map(|(_, tail)| quoted(tail))
        .filter(|s| !s.is_empty())
}

/// A syntax error's line, column and what was expected, from the parser's text
/// (` --> 1:25 … = expected selection`).
fn syntax_error(message: &str) -> Option<(&str, &str, &str)> {
    let at = message
        .trim_start()
        .strip_prefix("-->")?
        .lines()
        .next()?
        .trim();
    let (line, column) = at.split_once(':')?;
    let expected = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("= "))
        .unwrap_or("");
    Some((line, column, expected))
}

fn english(message: &str) -> String {
    if let Some((line, column, expected)) = syntax_error(message) {
        return format!("Syntax error at line {line}, column {column}: {expected}");
    }
    // async-graphql names the parent type where the argument's type belongs.
    if message.starts_with("Field \"") && message.ends_with("is required but not provided") {
        let q = quoted(message);
        if let [field, argument, ..] = q[..] {
            return format!(
                "Field \"{field}\" argument \"{argument}\" is required but not provided"
            );
        }
    }
    message.to_owned()
}

fn chinese(message: &str) -> Option<String> {
    if let Some((line, column, expected)) = syntax_error(message) {
        return Some(format!(
            "请求无效：查询文档语法错误（第 {line} 行第 {column} 列）：{expected}"
        ));
    }
    let q = quoted(message);
    let hint = |zh: String| match suggestions(message) {
        Some(names) => format!("{zh}；是否想用 {}？", names.join("、")),
        None => zh,
    };
    let text = if message.starts_with("Unknown field ") {
        let [field, ty, ..] = q[..] else { return None };
        hint(format!("类型 {ty} 没有字段 {field}"))
    } else if message.starts_with("Unknown argument ") && message.contains(" on field ") {
        let [argument, field, ..] = q[..] else {
            return None;
        };
        hint(format!("字段 {field} 没有参数 {argument}"))
    } else if message.starts_with("Field \"") && message.ends_with("is required but not provided") {
        let [field, argument, ..] = q[..] else {
            return None;
        };
        format!("字段 {field} 缺少必填参数 {argument}")
    } else if message.starts_with("Invalid value for argument ") {
        let argument = q.first()?;
        match message.split_once("expected type \"") {
            Some((_, ty)) => format!(
                "参数 {argument} 的值无效，应为 {} 类型",
                ty.trim_end_matches(['"', '.'])
            ),
            None => format!("参数 {argument} 的值无效"),
        }
    } else if message.starts_with("Expected input type ") {
        let [ty, ..] = q[..] else { return None };
        let found = message.split_once(", found ").map_or("", |(_, f)| f);
        format!("应为 {ty} 类型的值，收到 {}", found.trim_end_matches('.'))
    } else if message.contains("must have a selection of subfields") {
        let [field, ty, ..] = q[..] else { return None };
        format!("字段 {field}（{ty} 类型）须选择子字段")
    } else if message.contains("must not have a selection since type") {
        let [field, ty, ..] = q[..] else { return None };
        format!("字段 {field}（{ty} 类型）没有子字段，不能再选择")
    } else if message.starts_with("Variable \"$") && message.contains("is not defined") {
        format!("变量 {} 未在操作中声明", q.first()?)
    } else if message.starts_with("Unknown type ") {
        format!("未知类型 {}", q.first()?)
    } else if message.starts_with("Unknown operation named ") {
        format!("文档中没有名为 {} 的操作", q.first()?)
    } else if message.starts_with("Operation name required") {
        "文档含多个操作，须以 operationName 指明运行哪一个".to_owned()
    } else {
        return None;
    };
    Some(format!("请求无效：{text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_messages_read_in_both_languages() {
        let cases = [
            (
                r#"Unknown field "strets" on type "QueryRoot". Did you mean "streets", "street"?"#,
                "请求无效：类型 QueryRoot 没有字段 strets；是否想用 streets、street？",
                r#"Unknown field "strets" on type "QueryRoot". Did you mean "streets", "street"?"#,
            ),
            (
                r#"Field "merchant" argument "id" of type "QueryRoot" is required but not provided"#,
                "请求无效：字段 merchant 缺少必填参数 id",
                r#"Field "merchant" argument "id" is required but not provided"#,
            ),
            (
                r#"Invalid value for argument "first", expected type "Int""#,
                "请求无效：参数 first 的值无效，应为 Int 类型",
                r#"Invalid value for argument "first", expected type "Int""#,
            ),
            (
                " --> 1:25\n  |\n1 | { streets { totalCount }\n  |                         ^---\n  |\n  = expected selection",
                "请求无效：查询文档语法错误（第 1 行第 25 列）：expected selection",
                "Syntax error at line 1, column 25: expected selection",
            ),
        ];
        for (raw, zh, en) in cases {
            assert_eq!(localize(raw, Lang::Zh), zh);
            assert_eq!(localize(raw, Lang::En), en);
        }
        // Anything else keeps its English behind the Chinese prefix.
        assert_eq!(
            localize("Something new", Lang::Zh),
            "请求无效：Something new"
        );
    }
}
