// Rails naming (ActiveSupport::Inflector, Rails 7 default English
// inflections) and Kafka topic-name rules. Model names must match what a
// Ruby application would derive, or consumers would not recognise them; so
// the inflection rules are ActiveSupport's own regular expressions, applied
// with ActiveSupport's algorithm rather than re-invented.
#include "wire/naming.hpp"

#include <regex>
#include <utility>
#include <vector>

#include "util/cpp_only_file.hpp"

#include <unordered_map>

namespace dionysus::naming {
namespace {

struct Rule {
    std::regex pattern;
    std::string replacement;  // std::regex format syntax ($1), Ruby's '\1'
};

struct Inflections {
    std::vector<Rule> singulars;       // highest priority first
    std::vector<Rule> plurals;         // highest priority first
    std::vector<std::regex> uncountables;
};

// activesupport/lib/active_support/inflections.rb (frozen since Rails 4),
// in source order. ActiveSupport prepends each rule, so the LAST rule that
// matches wins; the list is reversed below to try them in that order.
const Inflections& inflections() {
    static const Inflections instance = [] {
        const auto flags = std::regex::ECMAScript | std::regex::icase;
        std::vector<std::pair<std::string, std::string>> source = {
            {"s$", ""},
            {"(ss)$", "$1"},
            {"(n)ews$", "$1ews"},
            {"([ti])a$", "$1um"},
            {"((a)naly|(b)a|(d)iagno|(p)arenthe|(p)rogno|(s)ynop|(t)he)(sis|ses)$", "$1sis"},
            {"(^analy)(sis|ses)$", "$1sis"},
            {"([^f])ves$", "$1fe"},
            {"(hive)s$", "$1"},
            {"(tive)s$", "$1"},
            {"([lr])ves$", "$1f"},
            {"([^aeiouy]|qu)ies$", "$1y"},
            {"(s)eries$", "$1eries"},
            {"(m)ovies$", "$1ovie"},
            {"(x|ch|ss|sh)es$", "$1"},
            {"^(m|l)ice$", "$1ouse"},
            {"(bus)(es)?$", "$1"},
            {"(o)es$", "$1"},
            {"(shoe)s$", "$1"},
            {"(cris|test)(is|es)$", "$1is"},
            {"^(a)x[ie]s$", "$1xis"},
            {"(octop|vir)(us|i)$", "$1us"},
            {"(alias|status)(es)?$", "$1"},
            {"^(ox)en", "$1"},
            {"(vert|ind)ices$", "$1ex"},
            {"(matr)ices$", "$1ix"},
            {"(quiz)zes$", "$1"},
            {"(database)s$", "$1"},
        };
        std::vector<std::pair<std::string, std::string>> plural_source = {
            {"$", "s"},
            {"s$", "s"},
            {"^(ax|test)is$", "$1es"},
            {"(octop|vir)us$", "$1i"},
            {"(octop|vir)i$", "$1i"},
            {"(alias|status)$", "$1es"},
            {"(bu)s$", "$1ses"},
            {"(buffal|tomat)o$", "$1oes"},
            {"([ti])um$", "$1a"},
            {"([ti])a$", "$1a"},
            {"sis$", "ses"},
            {"(?:([^f])fe|([lr])f)$", "$1$2ves"},
            {"(hive)$", "$1s"},
            {"([^aeiouy]|qu)y$", "$1ies"},
            {"(x|ch|ss|sh)$", "$1es"},
            {"(matr|vert|ind)(?:ix|ex)$", "$1ices"},
            {"^(m|l)ouse$", "$1ice"},
            {"^(m|l)ice$", "$1ice"},
            {"^(ox)$", "$1en"},
            {"^(oxen)$", "$1"},
            {"(quiz)$", "$1zes"},
        };
        // inflect.irregular(singular, plural) with equal first letters adds
        // singular(/(s0)srest$/i, '\1srest') then singular(/(p0)prest$/i, '\1srest'),
        // and plural(/(s0)srest$/i, '\1prest'), plural(/(p0)prest$/i, '\1prest').
        // Not anchored at the start: "salespeople" -> "salesperson".
        const std::pair<std::string, std::string> irregulars[] = {
            {"person", "people"}, {"man", "men"},    {"child", "children"},
            {"sex", "sexes"},     {"move", "moves"}, {"zombie", "zombies"},
        };
        for (const auto& [singular, plural] : irregulars) {
            const std::string srest = singular.substr(1);
            source.push_back({"(" + singular.substr(0, 1) + ")" + srest + "$", "$1" + srest});
            source.push_back({"(" + plural.substr(0, 1) + ")" + plural.substr(1) + "$", "$1" + srest});
            plural_source.push_back({"(" + singular.substr(0, 1) + ")" + srest + "$", "$1" + plural.substr(1)});
            plural_source.push_back({"(" + plural.substr(0, 1) + ")" + plural.substr(1) + "$", "$1" + plural.substr(1)});
        }

        Inflections result;
        for (auto it = source.rbegin(); it != source.rend(); ++it)
            result.singulars.push_back({std::regex(it->first, flags), it->second});
        for (auto it = plural_source.rbegin(); it != plural_source.rend(); ++it)
            result.plurals.push_back({std::regex(it->first, flags), it->second});
        // Uncountables::to_regex is /\b#{word}\Z/i: the word must end the
        // string and start at a word boundary ("_" is a word character, so
        // "bookings_fish" is countable).
        for (const char* word : {"equipment", "information", "rice", "money", "species", "series",
                                 "fish", "sheep", "jeans", "police"})
            result.uncountables.emplace_back(std::string("\\b") + word + "$", flags);
        return result;
    }();
    return instance;
}

// ActiveSupport apply_inflections: the first rule whose pattern matches
// rewrites its (first) match; the rest of the string is kept.
std::string apply_inflections(std::string word, const std::vector<Rule>& rules) {
    const Inflections& inf = inflections();
    if (word.empty()) return word;
    for (const auto& re : inf.uncountables)
        if (std::regex_search(word, re)) return word;
    std::smatch m;
    for (const auto& rule : rules) {
        if (std::regex_search(word, m, rule.pattern))
            return m.prefix().str() + m.format(rule.replacement) + m.suffix().str();
    }
    return word;
}

std::string singularize(std::string word) { return apply_inflections(std::move(word), inflections().singulars); }

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
char to_upper(char c) { return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c; }
char to_lower(char c) { return is_upper(c) ? char(c - 'A' + 'a') : c; }

// Ruby String#capitalize on ASCII: first letter up, the rest down.
void append_capitalized(std::string& out, std::string_view word) {
    for (size_t i = 0; i < word.size(); ++i) out += i == 0 ? to_upper(word[i]) : to_lower(word[i]);
}

// ActiveSupport camelize (no acronyms defined):
//   sub(/^[a-z\d]*/) { capitalize }, then
//   gsub(/(?:_|(\/))([a-z\d]*)/i) { capitalize, "/" becoming "::" }.
std::string camelize(std::string_view term) {
    std::string out;
    size_t i = 0;
    while (i < term.size() && is_lower_alnum(term[i])) ++i;
    append_capitalized(out, term.substr(0, i));
    while (i < term.size()) {
        char c = term[i];
        if (c != '_' && c != '/') {
            out += c;
            ++i;
            continue;
        }
        size_t start = ++i;
        while (i < term.size() && is_alnum(term[i])) ++i;
        if (c == '/') out += "::";
        append_capitalized(out, term.substr(start, i - start));
    }
    return out;
}

std::string describe_char(std::string_view s, size_t pos) {
    unsigned char c = static_cast<unsigned char>(s[pos]);
    if (c >= 0x21 && c < 0x7f) return std::string("'") + char(c) + "'";
    if (c == ' ') return "' ' (space)";
    // Show a whole UTF-8 sequence when there is one, else the byte.
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (c >= 0xc0 && pos + len <= s.size()) {
        bool ok = true;
        for (size_t k = 1; k < len; ++k)
            ok = ok && (static_cast<unsigned char>(s[pos + k]) & 0xc0) == 0x80;
        if (ok) return "'" + std::string(s.substr(pos, len)) + "'";
    }
    static const char hex[] = "0123456789abcdef";
    return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
}

// Kafka's topic rules (kafka.common.internals.Topic): 1..249 characters
// from [a-zA-Z0-9._-], and neither "." nor "..".
std::optional<std::string> kafka_name_problem(std::string_view name, std::string_view what) {
    const std::string label(what);
    if (name.empty()) return label + " must not be empty";
    if (name == "." || name == "..") return label + " must not be \"" + std::string(name) + "\"";
    const size_t max_length = 249;
    if (name.size() > max_length)
        return label + " \"" + std::string(name) + "\" is " + std::to_string(name.size()) +
               " characters long; Kafka allows at most " + std::to_string(max_length);
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (is_alnum(c) || c == '.' || c == '_' || c == '-') continue;
        return label + " \"" + std::string(name) + "\" contains " + describe_char(name, i) +
               " at position " + std::to_string(i + 1) +
               "; Kafka allows only ASCII letters, digits, '.', '_' and '-'";
    }
    return std::nullopt;
}

}  // namespace

namespace {

// The inflections are regular expressions (slow: the consumer names every
// sideloaded relationship of every record); the few distinct words a
// process meets are remembered, per thread.
template <typename Compute>
const std::string& memoized(std::unordered_map<std::string, std::string>& memo, std::string_view word, Compute&& compute) {
    auto it = memo.find(std::string(word));
    if (it != memo.end()) return it->second;
    if (memo.size() > 4096) memo.clear();  // bounded, whatever the input
    return memo.emplace(std::string(word), compute()).first->second;
}

}  // namespace

std::string model_name_for_table(std::string_view table) {
    // classify: camelize(singularize(table_name.to_s.sub(/.*\./, "")))
    if (size_t dot = table.rfind('.'); dot != std::string_view::npos) table.remove_prefix(dot + 1);
    thread_local std::unordered_map<std::string, std::string> memo;
    return memoized(memo, table, [&] { return camelize(singularize(std::string(table))); });
}

std::string singular_of(std::string_view word) {
    thread_local std::unordered_map<std::string, std::string> memo;
    return memoized(memo, word, [&] { return singularize(std::string(word)); });
}

std::string pluralize(std::string_view word) {
    return apply_inflections(std::string(word), inflections().plurals);
}

std::string table_name_for_model(std::string_view model_name) { return pluralize(underscore(model_name)); }

std::string underscore(std::string_view camel) {
    // return dup unless /[A-Z-]|::/.match?(word)
    bool needs_work = camel.find("::") != std::string_view::npos;
    for (char c : camel) needs_work = needs_work || is_upper(c) || c == '-';
    if (!needs_work) return std::string(camel);

    std::string word;
    for (size_t i = 0; i < camel.size(); ++i) {
        if (camel[i] == ':' && i + 1 < camel.size() && camel[i + 1] == ':') {
            word += '/';
            ++i;
        } else {
            word += camel[i];
        }
    }
    // gsub(/(?<=[A-Z])(?=[A-Z][a-z])|(?<=[a-z\d])(?=[A-Z])/, "_"), then
    // tr("-", "_") and downcase.
    std::string out;
    for (size_t i = 0; i < word.size(); ++i) {
        if (i > 0) {
            char prev = word[i - 1];
            bool next_lower = i + 1 < word.size() && word[i + 1] >= 'a' && word[i + 1] <= 'z';
            if ((is_upper(prev) && is_upper(word[i]) && next_lower) ||
                (is_lower_alnum(prev) && is_upper(word[i])))
                out += '_';
        }
        out += word[i] == '-' ? '_' : to_lower(word[i]);
    }
    return out;
}

std::optional<std::string> topic_name_problem(std::string_view name) {
    return kafka_name_problem(name, "topic");
}

std::optional<std::string> namespace_or_name_problem(std::string_view part, std::string_view what) {
    return kafka_name_problem(part, what);
}

std::string topic_name(std::string_view ns, std::string_view name) {
    std::string out;
    out.reserve(ns.size() + 1 + name.size());
    out.append(ns).append("_").append(name);
    return out;
}

std::string message_key(std::string_view model_name, std::string_view id) {
    std::string out;
    out.reserve(model_name.size() + 1 + id.size());
    out.append(model_name).append(":").append(id);
    return out;
}

std::string link_name(std::string_view column) {
    constexpr std::string_view suffix = "_id";
    if (column.size() > suffix.size() && column.substr(column.size() - suffix.size()) == suffix)
        column.remove_suffix(suffix.size());
    return std::string(column);
}

}  // namespace dionysus::naming
