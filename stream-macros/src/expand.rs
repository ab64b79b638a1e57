//! The driver: parse → check → optimize → codegen, collecting every error on the way.

use proc_macro2::TokenStream;

use crate::check::check;
use crate::codegen::generate;
use crate::diagnostics::Errors;
use crate::optimize::optimize;
use crate::parse::Pipeline;

/// Expands a `pipeline!` invocation.
pub(crate) fn pipeline(input: TokenStream) -> TokenStream {
    let errors = Errors::new();
    let parsed = Pipeline::parse(input, &errors);
    let checked = optimize(check(&parsed, &errors));
    match errors.check() {
        Ok(()) => generate(&checked),
        // Emit the errors and whatever did check, so one mistake does not cascade into
        // "cannot find type" errors everywhere the other queries are used.
        Err(e) => {
            let mut out = e.into_compile_error();
            out.extend(generate(&checked));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    fn expand(tokens: proc_macro2::TokenStream) -> String {
        let file: syn::File =
            syn::parse2(super::pipeline(tokens)).expect("expansion parses as a file");
        prettyplease::unparse(&file)
    }

    #[test]
    fn overflow_checks_only_where_overflow_is_possible() {
        let code = expand(quote! {
            query Q from Rate {
                select a = 20 + value % 10, b = value + 1, c = (value % 3) * (value % 7), d = value * 2;
            }
        });
        assert!(
            code.contains("let a_2 = (20i64 + (value_1 % 10i64));"),
            "{code}"
        );
        assert!(code.contains("add_i64(value_1, 1i64)?"), "{code}");
        assert!(
            code.contains("((value_1 % 3i64) * (value_1 % 7i64))"),
            "{code}"
        );
        assert!(code.contains("mul_i64(value_1, 2i64)?"), "{code}");
    }

    #[test]
    fn a_concat_of_a_cast_integer_is_keyed_by_the_integer() {
        // The seed's sensor stream: room_id = cast(value % 5 as string), then concat.
        let code = expand(quote! {
            query S from Rate {
                select timestamp, room_id = cast(value % 5 as string);
                with room_name = concat("Room_", room_id);
            }
            query Q from S {
                group by room_name;
                aggregate n = count();
            }
        });
        assert!(code.contains("k_room_name: i64,"), "{code}");
        let q = &code[code
            .find("impl ::sluice::__private::Pipeline for Q")
            .expect("Q's impl")..];
        assert!(
            !q.contains("to_spark_string"),
            "Q builds no string per row: {q}"
        );
    }

    #[test]
    fn an_exploded_split_builds_no_array() {
        let compact = |tokens| expand(tokens).replace(char::is_whitespace, "");
        for query in [
            quote! { query Q from TextLine { select word = explode(split(value, " ")); } },
            quote! { query Q from TextLine { with parts = split(value, " "); select n = length(value), word = explode(parts); } },
        ] {
            let code = compact(query);
            assert!(
                code.contains("functions::split_on_char(__generated_0,'',)"),
                "{code}"
            );
            assert!(!code.contains("functions::split("), "{code}");
        }
        // A longer separator, and an array column, are iterated in place too.
        let code = compact(
            quote! { query Q from TextLine { select word = explode(split(value, ", ")); } },
        );
        assert!(
            code.contains("functions::split_parts(__generated_0,\",\",)"),
            "{code}"
        );
        let code = compact(quote! {
            schema S { tags: Vec<String> }
            query Q from S { select tag = explode(tags); }
        });
        assert!(
            code.contains("functions::array_parts(__generated_0,)"),
            "{code}"
        );
    }

    #[test]
    fn unread_accumulators_are_not_kept() {
        let code = expand(quote! {
            query Q from Rate {
                group by k = value % 3;
                aggregate n = count(), m = max(value), s = sum(value);
                select k, n;
            }
        });
        assert!(
            code.contains("a0: ::sluice::__private::accumulator::Count,"),
            "{code}"
        );
        assert!(!code.contains("a1:"), "{code}");
    }

    /// Snapshots of whole expansions, so a change to generated code shows in review as a diff of
    /// `src/snapshots/*.snap` (update with `INSTA_UPDATE=always` or `cargo insta review`).
    mod snapshots {
        use quote::quote;

        use super::expand;

        #[test]
        fn stateless_filter_and_projection() {
            insta::assert_snapshot!(expand(quote! {
                schema Reading { ts: Timestamp, room: String, temperature: f64 }
                /// The seed's high-temperature alert.
                pub query Alerts from Reading {
                    where temperature > 25;
                    select ts, room, temperature, alert = "HIGH TEMPERATURE ALERT";
                }
            }));
        }

        #[test]
        fn windowed_aggregation_over_a_fused_prefix() {
            insta::assert_snapshot!(expand(quote! {
                query Sensors from Rate {
                    select timestamp,
                           room_name = concat("Room_", value % 5),
                           temperature = 20 + value % 10 + (value % 3) / 10.0;
                }
                pub query RoomWindows from Sensors {
                    watermark timestamp delay 30 seconds;
                    group by window(timestamp, 10 seconds), room_name;
                    aggregate count = count(), avg_temp = avg(temperature), max_temp = max(temperature);
                    select room_name, start = window.start, end = window.end, count, avg_temp, max_temp;
                }
            }));
        }

        #[test]
        fn sorted_and_limited_string_keys() {
            insta::assert_snapshot!(expand(quote! {
                schema Click { page: String, user: Option<String> }
                query TopPages from Click {
                    group by page;
                    aggregate views = count(), users = count(user);
                    where views > 1;
                    order by views desc, page;
                    limit 3;
                }
            }));
        }

        #[test]
        fn exploded_words_counted() {
            insta::assert_snapshot!(expand(quote! {
                query Lines from TextLine {
                    select timestamp, word = explode(split(value, " "));
                    where word != "";
                }
                pub query WordCounts from Lines {
                    group by word;
                    aggregate count = count(*);
                }
            }));
        }

        #[test]
        fn deduplication_under_a_watermark() {
            insta::assert_snapshot!(expand(quote! {
                schema Reading { ts: Timestamp, device: String, value: Option<f64> }
                pub query Deduplicated from Reading {
                    watermark ts delay 30 seconds;
                    drop duplicates (device, ts);
                    where value > 0;
                }
            }));
        }

        #[test]
        fn session_windows_per_user() {
            insta::assert_snapshot!(expand(quote! {
                schema Click { ts: Timestamp, user: String, page: String }
                pub query Sessions from Click {
                    watermark ts delay 10 seconds;
                    group by session_window(ts, 30 seconds), user;
                    aggregate clicks = count(*), first = min(ts), last = max(ts);
                    select user, start = session_window.start, end = session_window.end, clicks;
                }
            }));
        }

        #[test]
        fn left_join_with_a_static_table() {
            insta::assert_snapshot!(expand(quote! {
                schema Reading { ts: Timestamp, device: Option<String>, temp: f64 }
                table Device { id: String, room: Option<String>, max_temp: f64 }
                pub query Enriched from Reading left join Device on device == id and temp > max_temp {
                    where temp > 0;
                    select ts, device, room, temp;
                }
            }));
        }

        #[test]
        fn impressions_left_joined_with_clicks() {
            insta::assert_snapshot!(expand(quote! {
                schema Event { ts: Timestamp, key: String, value: Option<f64> }
                query Impressions from Event {
                    watermark ts delay 30 seconds;
                    select imp_ts = ts, ad = key, imp_v = value;
                }
                query Clicks from Event {
                    watermark ts delay 30 seconds;
                    where value > 0;
                    select click_ts = ts, click_ad = key;
                }
                pub query Attributed from Impressions left join Clicks
                    on ad == click_ad and click_ts >= imp_ts
                    and click_ts <= imp_ts + interval 20 seconds and imp_v > 1 {
                    select ad, imp_ts, clicked = click_ts is not null;
                }
            }));
        }

        #[test]
        fn global_aggregation() {
            insta::assert_snapshot!(expand(quote! {
                query Total from Rate { aggregate n = count(), total = sum(value); }
            }));
        }
    }

    /// Prints an expansion (run with `--nocapture`) — what `cargo expand` would show.
    #[test]
    fn print_expansion() {
        let out = super::pipeline(quote! {
            pub query SensorReadings from Rate {
                select timestamp,
                       room_name = concat("Room_", value % 5),
                       temperature = 20 + value % 10 + (value % 3) / 10.0,
                       humidity = 50 + value % 20;
            }
            pub query RoomWindows from SensorReadings {
                watermark timestamp delay 30s;
                group by window(timestamp, 10s), room_name;
                aggregate count = count(), avg_temp = avg(temperature), max_temp = max(temperature);
                select room_name, start = window.start, end = window.end, count, avg_temp;
            }
        });
        let file: syn::File = syn::parse2(out).expect("expansion parses as a file");
        println!("{}", prettyplease::unparse(&file));
    }
}
