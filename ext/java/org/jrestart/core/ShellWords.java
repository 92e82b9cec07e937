package org.jrestart.core;

import org.jrestart.core.posix.JRestartException;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a command line into words as a POSIX shell would (and as Ruby's
 * Shellwords.split does): quotes and backslashes are honoured, nothing is
 * expanded, and no shell runs.
 */
final class ShellWords {
    // A bare word, a single-quoted or double-quoted part, a backslash escape, or
    // a stray quote; then the blank that ends the word, if any.
    private static final Pattern PART = Pattern.compile(
            "\\G\\s*(?>([^\\s\\\\'\"]+)|'([^']*)'|\"((?:[^\"\\\\]|\\\\.)*)\"|(\\\\.?)|(\\S))(\\s|\\z)?",
            Pattern.DOTALL);
    private static final Pattern DOUBLE_QUOTED_ESCAPE = Pattern.compile("\\\\([$`\"\\\\\n])");

    private ShellWords() {
    }

    /** The words of line; INVALID_ARGUMENT for an unmatched quote. */
    static List<String> split(String line) throws JRestartException {
        List<String> words = new ArrayList<String>();
        StringBuilder field = new StringBuilder();
        Matcher m = PART.matcher(line);
        while (m.find()) {
            if (m.group(5) != null) throw JRestartException.invalid("unmatched quote");
            if (m.group(1) != null) {
                field.append(m.group(1));
            } else if (m.group(2) != null) {
                field.append(m.group(2));
            } else if (m.group(3) != null) {
                field.append(DOUBLE_QUOTED_ESCAPE.matcher(m.group(3)).replaceAll("$1"));
            } else {
                String escape = m.group(4);
                field.append(escape.length() > 1 ? escape.substring(1) : escape);
            }
            if (m.group(6) != null) {
                words.add(field.toString());
                field.setLength(0);
            }
        }
        return words;
    }
}
