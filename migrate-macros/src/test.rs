//! `#[migrate::test]`: one test function, run as one `#[test]` per backend on a database of its own.
//!
//! Read at the token level (no full Rust grammar, so `syn`'s `full` feature stays out of every build): the function's
//! attributes, qualifiers and name are all the expansion needs; the function itself is emitted as written.

use proc_macro2::{Delimiter, Ident, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};

const BACKENDS: [(&str, &str); 3] = [("sqlite", "Sqlite"), ("postgres", "Postgres"), ("mysql", "Mysql")];

/// The arguments: an optional template expression, and `backends(...)`.
struct Args {
    template: Option<TokenStream>,
    backends: Vec<(&'static str, &'static str)>,
}

fn error(span: Span, message: &str) -> TokenStream {
    quote_spanned!(span=> ::core::compile_error!(#message);)
}

fn parse_args(args: TokenStream) -> Result<Args, TokenStream> {
    let mut parsed = Args { template: None, backends: BACKENDS.to_vec() };
    let mut parts: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for tt in args {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(Vec::new()),
            _ => parts.last_mut().expect("one part at least").push(tt),
        }
    }
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        match part.as_slice() {
            [TokenTree::Ident(word), TokenTree::Group(list)]
                if word == "backends" && list.delimiter() == Delimiter::Parenthesis =>
            {
                let mut chosen = Vec::new();
                for tt in list.stream() {
                    match &tt {
                        TokenTree::Punct(p) if p.as_char() == ',' => {}
                        TokenTree::Ident(name) => match BACKENDS.iter().find(|(b, _)| name == b) {
                            Some(backend) if !chosen.contains(backend) => chosen.push(*backend),
                            Some(_) => return Err(error(name.span(), &format!("backend `{name}` is named twice"))),
                            None => {
                                return Err(error(
                                    name.span(),
                                    &format!("unknown backend `{name}`: expected sqlite, postgres or mysql"),
                                ))
                            }
                        },
                        other => {
                            return Err(error(
                                other.span(),
                                "expected backend names: backends(sqlite, postgres, mysql)",
                            ))
                        }
                    }
                }
                if chosen.is_empty() {
                    return Err(error(list.span(), "backends(...) names no backend"));
                }
                parsed.backends = chosen;
            }
            _ if parsed.template.is_some() => {
                return Err(error(
                    part[0].span(),
                    "one template only: #[migrate::test(MIGRATIONS)] or #[migrate::test(MIGRATIONS, backends(sqlite))]",
                ))
            }
            _ => parsed.template = Some(part.into_iter().collect()),
        }
    }
    Ok(parsed)
}

/// The function's name, and the attributes that belong on each generated test (`ignore`), taken off the function;
/// the rest of the function as written.
fn parse_fn(item: TokenStream) -> Result<(Ident, Vec<TokenStream>, TokenStream), TokenStream> {
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let mut kept = Vec::new();
    let mut moved = Vec::new();
    let mut i = 0;
    while let (Some(TokenTree::Punct(hash)), Some(TokenTree::Group(body))) = (tokens.get(i), tokens.get(i + 1)) {
        if hash.as_char() != '#' || body.delimiter() != Delimiter::Bracket {
            break;
        }
        let first = body.stream().into_iter().next();
        let attribute: TokenStream = tokens[i..i + 2].iter().cloned().collect();
        match first {
            Some(TokenTree::Ident(word)) if word == "ignore" => moved.push(attribute),
            Some(TokenTree::Ident(word)) if word == "should_panic" => return Err(error(
                word.span(),
                "#[should_panic] does not fit a test that may be skipped (a backend without its URL passes without \
                     running): assert the panic in the body with std::panic::catch_unwind",
            )),
            Some(TokenTree::Ident(word)) if word == "test" => {
                return Err(error(word.span(), "#[migrate::test] makes the #[test] functions itself: remove #[test]"))
            }
            _ => kept.push(attribute),
        }
        i += 2;
    }
    let rest = &tokens[i..];
    let mut name = None;
    for (j, tt) in rest.iter().enumerate() {
        match tt {
            TokenTree::Ident(word) if word == "async" => {
                return Err(error(word.span(), "#[migrate::test] runs a blocking body: an async fn is not supported"))
            }
            TokenTree::Ident(word) if word == "fn" => {
                match rest.get(j + 1) {
                    Some(TokenTree::Ident(ident)) => name = Some((ident.clone(), j + 2)),
                    _ => return Err(error(word.span(), "expected the function's name")),
                }
                break;
            }
            _ => {}
        }
    }
    let Some((name, after)) = name else {
        return Err(error(Span::call_site(), "#[migrate::test] goes on a function: fn name(db: &mut TestDatabase)"));
    };
    if let Some(TokenTree::Punct(p)) = rest.get(after) {
        if p.as_char() == '<' {
            return Err(error(p.span(), "a #[migrate::test] function takes no generic parameters"));
        }
    }
    let kept: TokenStream = kept.into_iter().chain(rest.iter().map(|tt| tt.clone().into())).collect();
    Ok((name, moved, kept))
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let (args, (name, moved, function)) = match (parse_args(args), parse_fn(item.clone())) {
        (Ok(args), Ok(parsed)) => (args, parsed),
        (Err(err), _) | (_, Err(err)) => return quote!(#err #item),
    };
    let template = match &args.template {
        Some(expr) => quote!(::core::option::Option::Some(&(#expr) as &dyn ::migrate::testing::Template)),
        None => quote!(::core::option::Option::None),
    };
    let tests = args.backends.iter().map(|(test, variant)| {
        let test = Ident::new(test, name.span());
        let variant = Ident::new(variant, Span::call_site());
        quote! {
            // The prelude's, by its full path: a `use migrate::test` or `use migrate::*` in scope does not catch it.
            #[::core::prelude::v1::test]
            #(#moved)*
            fn #test() -> impl ::std::process::Termination {
                ::migrate::testing::run(::migrate::Backend::#variant, #template, super::#name)
            }
        }
    });
    quote! {
        #[allow(dead_code)]
        #function

        /// The function above, on each backend.
        mod #name {
            #[allow(unused_imports)]
            use super::*;
            #(#tests)*
        }
    }
}
