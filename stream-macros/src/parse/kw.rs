//! Contextual keywords of the DSL. None of them is reserved: a column may still be called
//! `window` or `count`; the parser only treats them as keywords where a clause starts.

syn::custom_keyword!(schema);
syn::custom_keyword!(query);
syn::custom_keyword!(from);
syn::custom_keyword!(select);
syn::custom_keyword!(with);
syn::custom_keyword!(filter);
syn::custom_keyword!(watermark);
syn::custom_keyword!(delay);
syn::custom_keyword!(group);
syn::custom_keyword!(by);
syn::custom_keyword!(aggregate);
syn::custom_keyword!(order);
syn::custom_keyword!(limit);
syn::custom_keyword!(drop);
syn::custom_keyword!(rename);
syn::custom_keyword!(parse);
syn::custom_keyword!(mode);
syn::custom_keyword!(to);
syn::custom_keyword!(window);
syn::custom_keyword!(and);
syn::custom_keyword!(or);
syn::custom_keyword!(not);
syn::custom_keyword!(case);
syn::custom_keyword!(when);
syn::custom_keyword!(then);
syn::custom_keyword!(end);
syn::custom_keyword!(cast);
syn::custom_keyword!(null);
syn::custom_keyword!(is);
syn::custom_keyword!(asc);
syn::custom_keyword!(desc);
syn::custom_keyword!(nulls);
syn::custom_keyword!(first);
syn::custom_keyword!(last);
syn::custom_keyword!(between);
