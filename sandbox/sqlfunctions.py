"""The functions sandbox SQL may call: an allow-list (anything not named here is refused as `forbidden_function`).

An allow-list rather than a deny-list, so that a DuckDB upgrade adding a function that touches files, settings or
the network (read_*, glob, getenv, current_setting, query, json_execute_serialized_sql, ...) does not open it up.
Names are DuckDB's as its parser spells them (lower case; operators included: `~~` is LIKE, `!~~` NOT LIKE, `~~*`
ILIKE, `~~~` GLOB, `^@` starts-with). Table functions are never allowed (the only table is the dataset view).

Left out on purpose: random/setseed/uuid (results would differ run to run), range/generate_series (they are also
table functions), list_aggregate/aggregate/apply-by-name (they call any aggregate by its name), the json_*_sql and
json_serialize_plan functions (they parse and bind SQL text), current_setting/getvariable/current_query and the
other session or catalog introspection functions, error() (an error message would carry values past disclosure
control), sleep_ms, enum_*/variant_* (not needed), row_to_json (whole rows), and every pg_* compatibility macro.
"""


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


OPERATORS = _names(
    "+ - * / // % ** ^ & | << >> ~ @ !__postfix || ~~ !~~ ~~* !~~* ~~~ ^@ @> <@ && -> ->> "
    "like_escape not_like_escape ilike_escape not_ilike_escape regexp_full_match"
)

MATH = _names(
    """
    abs acos acosh add asin asinh atan atan2 atanh bit_count cbrt ceil ceiling cos cosh cot degrees divide even exp
    factorial fdiv floor fmod gamma gcd greatest greatest_common_divisor isfinite isinf isnan lcm least
    least_common_multiple lgamma ln log log10 log2 mod multiply nextafter pi pow power radians round round_even
    roundbankers sign signbit sin sinh sqrt subtract tan tanh trunc xor
    """
)

STRING = _names(
    """
    array_to_string ascii bar base64 bin bit_length char_length character_length chr concat concat_ws contains
    damerau_levenshtein decode editdist3 encode ends_with format format_bytes formatreadabledecimalsize
    formatreadablesize from_base64 from_binary from_hex hamming hash hex instr jaccard jaro_similarity
    jaro_winkler_similarity lcase left left_grapheme len length length_grapheme levenshtein lower lpad ltrim md5
    mismatches nfc_normalize octet_length ord position prefix printf regexp_escape regexp_extract regexp_extract_all
    regexp_matches regexp_replace regexp_split_to_array repeat replace reverse right right_grapheme rpad rtrim sha1
    sha256 split split_part starts_with str_split str_split_regex string_split string_split_regex string_to_array
    strip_accents strlen strpos substr substring substring_grapheme suffix to_base64 to_binary to_hex translate trim
    ucase unhex unicode upper url_decode url_encode
    """
)

DATE_TIME = _names(
    """
    age ago century current_date current_localtime current_localtimestamp date_add date_diff date_part date_sub
    date_trunc datediff datepart datesub datetrunc day dayname dayofmonth dayofweek dayofyear days_in_month decade
    epoch epoch_ms epoch_ns epoch_us era get_current_time get_current_timestamp hour isodow isoyear julian last_day
    make_date make_time make_timestamp make_timestamp_ms make_timestamp_ns make_timestamptz microsecond millennium
    millisecond minute month monthname nanosecond normalized_interval now quarter second strftime strptime
    time_bucket timezone timezone_hour timezone_minute to_centuries to_days to_decades to_hours to_microseconds
    to_millennia to_milliseconds to_minutes to_months to_quarters to_seconds to_timestamp to_weeks to_years today
    transaction_timestamp try_strptime week weekday weekofyear year yearweek
    """
)

CONDITIONAL = _names("if nullif typeof")

NESTED = _names(
    """
    array_append array_cat array_concat array_contains array_distinct array_extract array_filter array_grade_up
    array_has array_has_all array_has_any array_indexof array_intersect array_length array_pop_back array_pop_front
    array_position array_prepend array_push_back array_push_front array_reverse array_reverse_sort array_select
    array_slice array_sort array_transform array_unique array_value array_where array_zip cardinality element_at
    filter flatten list_append list_avg list_bool_and list_bool_or list_cat list_concat list_contains list_count
    list_distinct list_element list_extract list_filter list_first list_grade_up list_has list_has_all list_has_any
    list_indexof list_intersect list_last list_max list_median list_min list_mode list_pack list_position
    list_prepend list_product list_reduce list_resize list_reverse list_reverse_sort list_select list_slice list_sort
    list_stddev_pop list_stddev_samp list_string_agg list_sum list_transform list_unique list_value list_var_pop
    list_var_samp list_where list_zip map map_concat map_contains map_entries map_extract map_extract_value
    map_from_entries map_keys map_values reduce row struct_concat struct_extract struct_extract_at struct_insert
    struct_pack unnest
    """
)

JSON = _names(
    """
    array_to_json json_array json_array_length json_contains json_exists json_extract json_extract_path
    json_extract_path_text json_extract_string json_keys json_object json_quote json_type json_valid json_value to_json
    """
)

SCALAR_FUNCTIONS = OPERATORS | MATH | STRING | DATE_TIME | CONDITIONAL | NESTED | JSON

# Aggregates the outermost SELECT may use on visible and masked columns.
AGGREGATE_FUNCTIONS = _names(
    """
    any_value approx_count_distinct approx_quantile arbitrary arg_max arg_min argmax argmin array_agg avg bit_and
    bit_or bit_xor bool_and bool_or corr count count_if count_star countif covar_pop covar_samp entropy favg first
    fsum group_concat histogram kahan_sum kurtosis kurtosis_pop last list listagg mad max max_by mean median min
    min_by mode product quantile quantile_cont quantile_disc regr_avgx regr_avgy regr_count regr_intercept regr_r2
    regr_slope regr_sxx regr_sxy regr_syy sem skewness stddev stddev_pop stddev_samp string_agg sum sumkahan var_pop
    var_samp variance
    """
)

# The only aggregates an aggregate-only column may be the (bare) argument of: none returns one person's raw value
# except median, which the policy accepts (it is one of at least min_group_size values). DISTINCT only with count.
SAFE_AGGREGATES = _names("count sum avg mean median stddev stddev_pop stddev_samp variance var_pop var_samp")

COUNT_FUNCTIONS = frozenset({"count", "count_star"})

WINDOW_FUNCTIONS = _names(
    "cume_dist dense_rank first_value lag last_value lead nth_value ntile percent_rank rank row_number"
)
