"""Emotion-wheel hit rate and open-vocabulary F-score on small tables, against hand-worked values."""

import math

import pytest

from emotion_ros.eval.wheel import EmotionWheels, hit_rate, open_vocabulary_f, response_words, truth_words

WHEELS = """wheel,word,level1
w1,joy,happy
w1,cheerful,happy
w1,sorrow,sad
w1,grief,sad
w2,cheerful,positive
w2,happy,positive
w2,sorrow,negative
w2,sad,negative
w2,anger,negative
"""
# word = a wheel word, synonym = a word that may stand for it (the published sheet's layout)
SYNONYMS = """word,synonym
joy,glad
cheerful,glad
sorrow,bittersweet
joy,bittersweet
grief,mourning
anger,rage
"""
FORMS = """word,base
gladly,glad
mournful,mourning
bitter-sweet,bittersweet
joy,joy
sorrow,sorrow
sad,sad
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tables(tmp_path):
    return (_write(tmp_path, "wheels.csv", WHEELS), _write(tmp_path, "synonyms.csv", SYNONYMS),
            _write(tmp_path, "forms.csv", FORMS))


@pytest.fixture
def wheels(tables):
    return EmotionWheels.from_files(*tables)


def test_tables_are_read_lowercased_with_self_mappings(tmp_path):
    path = _write(tmp_path, "w.csv", "Wheel, Word ,LEVEL1\nW1, Joy ,Happy\n")
    syn = _write(tmp_path, "s.csv", "word,synonym\nJoy,Glad\nJoy,Elated\n")
    tables = EmotionWheels.from_files(path, syn)
    assert tables.wheels == {"w1": {"happy": "happy", "joy": "happy"}}
    assert tables.synonyms == {"joy": ("joy",), "glad": ("joy",), "elated": ("joy",)}
    assert tables.word_forms == {}


def test_map_word_follows_forms_then_synonyms_then_the_alphabetically_first_candidate(wheels):
    assert wheels.synonyms["bittersweet"] == ("joy", "sorrow")
    assert wheels.word_forms["gladly"] == ("glad",) and wheels.word_forms["glad"] == ("glad",)
    # gladly -> glad -> {cheerful, glad, joy}: cheerful comes first
    assert wheels.map_word("gladly", "w1") == "happy" and wheels.map_word("gladly", "w2") == "positive"
    # bitter-sweet -> bittersweet -> {joy, sorrow}: joy wins in w1; w2 has no joy, so sorrow decides
    assert wheels.map_word("Bitter-Sweet ", "w1") == "happy"
    assert wheels.map_word("bitter-sweet", "w2") == "negative"
    assert wheels.map_word("mournful", "w1") == "sad" and wheels.map_word("mournful", "w2") is None
    assert wheels.map_word("sad", "w1") == "sad"  # a level-1 word maps to itself
    # with a word-form table, a word it does not list is dropped, wheel word or not (as published)
    assert wheels.map_word("grief", "w1") is None and wheels.map_word("rage", "w2") is None
    assert wheels.map_word("unknown", "w1") is None


def test_without_a_form_table_every_word_is_its_own_base(tables):
    wheels = EmotionWheels.from_files(tables[0], tables[1])
    assert wheels.map_word("grief", "w1") == "sad" and wheels.map_word("rage", "w2") == "negative"
    assert wheels.map_word("gladly", "w1") is None  # the form is unknown without the table
    only_wheels = EmotionWheels.from_files(tables[0])
    assert only_wheels.map_word("joy", "w1") == "happy" and only_wheels.map_word("glad", "w1") is None


def test_malformed_tables_name_the_file_and_the_missing_column(tmp_path, tables):
    bad = _write(tmp_path, "bad_wheels.csv", "wheel,word,level\nw1,joy,happy\n")
    with pytest.raises(ValueError, match=r"bad_wheels\.csv.*level1"):
        EmotionWheels.from_files(bad)
    bad = _write(tmp_path, "bad_syn.csv", "word,syn\njoy,glad\n")
    with pytest.raises(ValueError, match=r"bad_syn\.csv.*synonym"):
        EmotionWheels.from_files(tables[0], bad)
    bad = _write(tmp_path, "bad_forms.csv", "form,base\nglad,glad\n")
    with pytest.raises(ValueError, match=r"bad_forms\.csv.*word"):
        EmotionWheels.from_files(tables[0], None, bad)
    with pytest.raises(ValueError, match="no wheel rows"):
        EmotionWheels.from_files(_write(tmp_path, "empty.csv", "wheel,word,level1\n"))
    with pytest.raises(ValueError, match="line 2: empty wheel or level1"):
        EmotionWheels.from_files(_write(tmp_path, "hole.csv", "wheel,word,level1\nw1,joy,\n"))


def test_response_words_split_on_quotes_and_commas_only():
    assert response_words('Happy, "Excited"; calm') == ["happy", "excited", "; calm"]
    assert response_words("it's sad") == ["it", "s sad"]  # an apostrophe is a quote to the published split
    # only the [..] wrapper is removed: brackets the model writes stay on the words
    assert response_words("[sad, angry]") == ["[sad", "angry]"]
    assert response_words("<think>joy, fear</think><ANSWER> Sad , 'tense' </answer>") == ["sad", "tense"]
    assert response_words("") == [] and response_words(None) == [] and response_words(" , ,") == []
    assert truth_words("['Happy', 'sad']") == ["happy", "sad"]
    assert truth_words(("Happy ", "", "Sad")) == ["happy", "sad"]


TRUTH = ["joy", ("sorrow", "glad"), "neutral", "['mournful', 'joy']", "glad"]
RESPONSES = ["gladly, bitter-sweet", '<think>joy</think><answer>"Sorrow", joy</answer>', "joy", "sad", "no idea"]


def test_hit_rate_by_hand(wheels):
    # w1: gt/pred {happy}/{happy} 1; {sad,happy}/{sad,happy} 2; neutral skipped; {sad,happy}/{sad} 1;
    #     {happy}/{} 0 -> 4/4.  w2: joy, mournful and neutral map to nothing -> skipped;
    #     {negative,positive}/{negative} 1; {positive}/{} 0 -> 1/2.
    result = hit_rate(TRUTH, RESPONSES, wheels)
    assert result["per_wheel"] == {"w1": {"hit_rate": 1.0, "samples": 4}, "w2": {"hit_rate": 0.5, "samples": 2}}
    assert result["hit_rate"] == pytest.approx(0.75)
    assert result["samples"] == 4 and result["skipped"] == 1


def test_open_vocabulary_f_by_hand(wheels):
    # w1: P = (1 + 1 + 1 + 0) / 4 = 0.75, R = (1 + 1 + 0.5 + 0) / 4 = 0.625, F = 15/22
    # w2: P = (1 + 0) / 2 = 0.5, R = (0.5 + 0) / 2 = 0.25, F = 1/3
    result = open_vocabulary_f(TRUTH, RESPONSES, wheels)
    assert result["per_wheel"]["w1"] == pytest.approx({"f_score": 15 / 22, "precision": 0.75, "recall": 0.625,
                                                       "samples": 4})
    assert result["per_wheel"]["w2"] == pytest.approx({"f_score": 1 / 3, "precision": 0.5, "recall": 0.25,
                                                       "samples": 2})
    assert result["f_score"] == pytest.approx((15 / 22 + 1 / 3) / 2)
    assert result["precision"] == pytest.approx(0.625) and result["recall"] == pytest.approx(0.4375)
    assert result["samples"] == 4 and result["skipped"] == 1


def test_an_empty_prediction_scores_zero_and_f_is_zero_not_nan(wheels):
    result = open_vocabulary_f(["glad"], ["rage"], wheels)  # rage is not in the form table: nothing predicted
    assert result["f_score"] == 0.0 and result["precision"] == 0.0 and result["recall"] == 0.0


def test_a_wheel_that_scores_nothing_is_nan_and_bad_input_raises(wheels):
    result = hit_rate(["joy"], ["joy"], wheels)  # joy is not in w2
    assert result["per_wheel"]["w1"]["hit_rate"] == 1.0 and math.isnan(result["per_wheel"]["w2"]["hit_rate"])
    assert math.isnan(result["hit_rate"])
    with pytest.raises(ValueError, match="2 ground-truth items but 1 responses"):
        hit_rate(["joy", "sad"], ["joy"], wheels)
    with pytest.raises(ValueError, match="no samples"):
        open_vocabulary_f([], [], wheels)
