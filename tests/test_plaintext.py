from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.plaintext import SECTION_BREAK, decode_escapes, markdown_to_text, without_shortcodes

SHARED = Path(__file__).parents[1].parent / "shared"


def test_decode_escapes_turns_literal_sequences_into_whitespace():
    assert decode_escapes(r"one\n\ntwo") == "one\n\ntwo"
    assert decode_escapes(r"a\r\nb") == "a\nb"
    assert decode_escapes("a\r\nb\rc") == "a\nb\nc"
    assert decode_escapes(r"col\tcol") == "col col"


def test_decode_escapes_keeps_escaped_backslashes_and_decodes_single_ones():
    assert decode_escapes(r"C:\\new") == "C:\\new"
    # Documented choice: a path written with one backslash is decoded like prose.
    assert decode_escapes(r"C:\new") == "C:\new"
    assert decode_escapes("no escapes here") == "no escapes here"


def test_list_items_without_full_stops_become_separate_sentences():
    text = markdown_to_text("Intro:\n\n- fast\n- cheap\n- good enough\n")
    assert text == "Intro.\n\nfast.\ncheap.\ngood enough."


def test_existing_terminal_punctuation_is_kept():
    assert markdown_to_text("- Is it?\n- Yes!\n- (done.)\n") == "Is it?\nYes!\n(done.)"


def test_code_urls_html_images_and_entities_are_removed():
    markdown = (
        "Read [the guide](https://example.com/guide) or https://bare.example.com/x now.\n\n"
        "```powershell\nGet-Help -Name Foo\n```\n\n"
        "    indented code\n\n"
        "<div>\nhtml block\n</div>\n\n"
        "Some <b>bold</b> text&nbsp;here and <https://auto.example.com> ![alt words](i.png)\n"
    )
    text = markdown_to_text(markdown)
    assert text == "Read the guide or now.\n\nSome bold text here and."
    for gone in ("http", "Get-Help", "indented", "html block", "<", "&nbsp;", "\xa0", "alt words"):
        assert gone not in text


def test_inline_code_stays_in_its_sentence():
    assert markdown_to_text("The `Get-Help` cmdlet shows help") == "The Get-Help cmdlet shows help."


def test_headings_are_separate_lines_that_open_sections():
    text = markdown_to_text("# Title\n\nIntro text\n\n## Part two\nBody text\n")
    assert text == "Title.\n\nIntro text." + SECTION_BREAK + "Part two.\n\nBody text."


def test_table_cells_end_as_sentences_one_row_per_line():
    text = markdown_to_text("| Name | Use |\n|---|---|\n| Get-Item | Reads items |\n| x | |\n")
    assert text == "Name. Use.\nGet-Item. Reads items.\nx."


def test_blockquote_paragraphs_and_nested_lists():
    assert markdown_to_text("> first\n>\n> second\n") == "first.\n\nsecond."
    assert markdown_to_text("- a b\n  - c d\n- e f\n") == "a b.\nc d.\ne f."


def test_hugo_shortcode_tags_and_code_shortcodes_are_not_prose():
    markdown = (
        "{{< new-in 0.120.0 >}}\nThese are the privacy settings.\n\n"
        '{{< code-toggle file="hugo" >}}\n[privacy.disqus]\ndisable = false\n{{< /code-toggle >}}\n\n'
        "{{% note %}}\nHugo reads the **site configuration** first.\n{{% /note %}}\n\n"
        'See {{< gh 1234 >}} and [the docs]({{< ref "configuration" >}}) for more. '
        "Use `{{</* ref */>}}` to link.\n\n"
        "{{< highlight go >}}\nfmt.Println(1)\n{{< /highlight >}}\n\n"
        '{{< code file="x.html" >}}\n{{ .Title }}\n{{< /code >}}\n'
        "Last words {{< youtube w7Ft2ymGmfc />}} here, {{< code-like >}} too."
    )
    assert markdown_to_text(markdown).split("\n\n") == [
        "These are the privacy settings.",
        "Hugo reads the site configuration first.",
        "See and the docs for more. Use {{</* ref */>}} to link.",  # the escaped form is shown as is
        "Last words here, too.",
    ]


@pytest.mark.parametrize(
    "noise",
    ["{{< a " * 20_000, "{{< a" + "x" * 200_000, "{{<" + " " * 200_000, "{{" * 50_000, "{{< a/" * 20_000],
)
def test_shortcode_like_noise_is_text_and_read_in_linear_time(noise: str) -> None:
    """Hostile bodies: no tag in them, so nothing is removed. (Each of these took quadratic
    time, minutes, with a pattern that could backtrack; a regression shows as a hang.)"""
    assert without_shortcodes(noise) == noise


def test_jekyll_liquid_tags_and_code_blocks_are_not_prose():
    markdown = (
        '{% include note.html content="Read this first." %}\nInstall the gem first.\n\n'
        "{% highlight ruby linenos %}\nputs 'hello'\n{% endhighlight %}\n\n"
        "See [the guide]({% link _docs/guide.md %}) and {{ site.title }}.{% comment %} not shown {% endcomment %}\n\n"
        "{%- if page.beta -%}\nThis page is in beta.\n{%- endif -%}\n\n"
        "Write {% raw %}{% include x.html %} and {{< note >}}{% endraw %} in a page.\n\n"
        "{{% note %}}\nHugo's tags are still read as Hugo's.\n{{% /note %}}"
    )
    assert markdown_to_text(markdown).split("\n\n") == [
        "Install the gem first.",
        "See the guide and {{ site.title }}.",  # output tags stay: Hugo shows them as written
        "This page is in beta.",
        "Write {% include x.html %} and {{< note >}} in a page.",  # raw shows what it holds
        "Hugo's tags are still read as Hugo's.",
    ]
    # A code shortcode of Hugo is not closed by a Liquid tag of its name, nor the reverse.
    assert without_shortcodes("{{< code >}}x{% code %}y{{< /code >}}z") == "\n\nz"
    assert without_shortcodes("{% highlight %}x{{< /highlight >}}y{% endhighlight %}z") == "\n\nz"
    assert without_shortcodes("a {% comment %}never closed") == "a never closed"


@pytest.mark.parametrize(
    "noise", ["{% a " * 20_000, "{% a" + "x" * 200_000, "{%" + " " * 200_000, "{%" * 50_000, "{%-" * 50_000]
)
def test_liquid_like_noise_is_text_and_read_in_linear_time(noise: str) -> None:
    assert without_shortcodes(noise) == noise


def test_a_code_shortcode_never_closed_keeps_its_text():
    assert without_shortcodes("a {{< code >}}never closed {{< b >}} text") == "a never closed  text"
    assert without_shortcodes("{{< code >}}x" * 3 + "{{< /code >}} after") == "\n\n after"


def test_a_self_closing_code_shortcode_holds_no_code():
    """Hugo's configuration page: `{{< code-toggle config="mergeStrategy" />}}` opens nothing,
    and the prose after it up to the next closing tag stays."""
    markdown = '{{< code-toggle config="x" skipHeader=true />}}\nProse.\n{{< code-toggle >}}\nk = 1\n{{< /code-toggle >}}'
    assert without_shortcodes(markdown) == "\nProse.\n\n\n"


def test_gfm_alert_markers_are_not_prose():
    markdown = "Intro.\n\n> [!NOTE]\n> Beginning in PowerShell 7.4, this works.\n\n> [!caution]\n> Careful.\n\n> Quoted [!x]."
    assert markdown_to_text(markdown).split("\n\n") == [
        "Intro.",
        "Beginning in PowerShell 7.4, this works.",
        "Careful.",
        "Quoted [!x].",
    ]


def test_nothing_visible_gives_empty_text():
    for markdown in ("", "&nbsp;", "```\ncode\n```", "<https://example.com>", "<!-- c -->", "---"):
        assert markdown_to_text(markdown) == ""


def test_sample_page_answer_becomes_four_prose_lines():
    page = next((SHARED / "sample").glob("*.md")).read_text(encoding="utf-8")
    _, front_matter, body = page.split("---", 2)
    answer = yaml.load(front_matter, Loader=yaml.CSafeLoader)["answer"]
    text = markdown_to_text(decode_escapes(answer))
    lines = [line for line in text.split("\n") if line]
    assert len(lines) == 4
    assert lines[1].startswith("Excitatory Neurotransmitters: These neurotransmitters promote")
    assert lines[2].startswith("Inhibitory Neurotransmitters: In contrast")
    assert "\\n" not in text and "**" not in text
    assert markdown_to_text(body) == ""


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_markdown_to_text_never_raises_and_returns_one_line_per_block(markdown):
    text = markdown_to_text(markdown)
    assert isinstance(text, str)
    for line in text.split("\n"):
        assert line == "" or line.rstrip(")]}\"'”’*_")[-1:] in ".!?"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab \\nrt-*#`<>[]()|&;\n"))))
def test_markdown_like_noise_never_raises(markdown):
    assert isinstance(markdown_to_text(decode_escapes(markdown)), str)
