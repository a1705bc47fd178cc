"""Every user-visible string, in Danish and English; one place to translate."""

from __future__ import annotations

from typing import Literal

Language = Literal["da", "en"]

_TEXTS: dict[str, dict[Language, str]] = {
    "prompt.header": {"da": "Ugens regel", "en": "This week's rule"},
    "prompt.fallback": {
        "da": "Ugens regel: {rule}. Hvor godt levede vi den i denne uge?",
        "en": "This week's rule: {rule}. How well did we live it this week?",
    },
    "prompt.question": {
        "da": "*Hvor godt levede vi denne regel i denne uge?*",
        "en": "*How well did we live this rule this week?*",
    },
    "prompt.scale_hint": {
        "da": "1 = slet ikke · 5 = rigtig godt. Dit svar er anonymt i rapporterne.",
        "en": "1 = not at all · 5 = very well. Your answer is anonymous in reports.",
    },
    "prompt.story_invite": {
        "da": "Har du set reglen leve i praksis? Del en kort historie.",
        "en": "Seen the rule lived this week? Share a short story.",
    },
    "prompt.story_button": {"da": "Del en historie", "en": "Share a story"},
    "prompt.reminder": {
        "da": "Ugens spørgsmål er stadig åbent, hvis du har lyst til at svare. "
        "Dit svar er anonymt i rapporterne.",
        "en": "This week's question is still open, if you would like to answer. "
        "Your answer is anonymous in reports.",
    },
    "prompt.closed": {
        "da": "Denne uges runde er lukket. Tak til alle, der svarede!",
        "en": "This week's round has closed. Thank you to everyone who answered!",
    },
    "prompt.pause": {"da": "Sæt ugentlige spørgsmål på pause", "en": "Pause weekly prompts"},
    "pause.done": {
        "da": "Du får ikke flere ugentlige spørgsmål eller påmindelser. "
        "Skriv `{prompts} resume` for at få dem igen.",
        "en": "You will get no more weekly prompts or reminders. "
        "Type `{prompts} resume` to get them again.",
    },
    "pause.resumed": {
        "da": "Velkommen tilbage! Du får ugens spørgsmål igen fra næste runde.",
        "en": "Welcome back! You will get the weekly prompt again from the next round.",
    },
    "pause.status.paused": {
        "da": "Dine ugentlige spørgsmål er på pause. `{prompts} resume` starter dem igen.",
        "en": "Your weekly prompts are paused. `{prompts} resume` starts them again.",
    },
    "pause.status.active": {
        "da": "Du får ugens spørgsmål. `{prompts} pause` sætter dem på pause.",
        "en": "You get the weekly prompt. `{prompts} pause` pauses it.",
    },
    "pause.failed": {
        "da": "Det kunne ikke gemmes lige nu. Prøv igen om lidt.",
        "en": "That could not be saved just now. Please try again shortly.",
    },
    "error.round_closed": {
        "da": "Denne uges runde er lukket, så intet blev ændret. Tak for din interesse!",
        "en": "This week's round has closed, so nothing was changed. Thank you all the same!",
    },
    "prompt.answered_teams": {
        "da": "Besvaret, tak! Dit svar vises ikke her. Klik igen for at ændre det, så længe "
        "runden er åben.",
        "en": "Answered, thank you! Your score is not shown here. Click again to change it "
        "while the round is open.",
    },
    "prompt.answered": {
        "da": "Besvaret, tak! Kun du så dit svar. Klik igen for at ændre det.",
        "en": "Answered, thank you! Only you saw your score. Click again to change it.",
    },
    "confirm.score": {
        "da": "Dit svar i denne uge: *{score} – {label}*. Kun du kan se denne besked; "
        "klik på en anden knap for at ændre det.",
        "en": "Your answer this week: *{score} – {label}*. Only you can see this message; "
        "click another score to change it.",
    },
    "story.saved.title": {"da": "Tak for historien", "en": "Thank you"},
    "story.saved.close": {"da": "Luk", "en": "Close"},
    "story.saved.named": {
        "da": "Din historie er gemt og deles med dit navn.",
        "en": "Your story is saved and will be shared with your name.",
    },
    "story.saved.anonymous": {
        "da": "Din historie er gemt og deles uden dit navn.",
        "en": "Your story is saved and will be shared without your name.",
    },
    "story.saved.private": {
        "da": "Din historie er gemt. Den vises ikke i rapporter; den tælles kun med.",
        "en": "Your story is saved. It stays out of reports; it is only counted.",
    },
    "story.error.open_failed": {
        "da": "Historie-formularen kunne ikke åbnes lige nu. Klik på knappen igen.",
        "en": "The story form could not be opened just now. Please click the button again.",
    },
    "score.1": {"da": "Slet ikke", "en": "Not at all"},
    "score.2": {"da": "Lidt", "en": "A little"},
    "score.3": {"da": "Nogenlunde", "en": "Somewhat"},
    "score.4": {"da": "Godt", "en": "Well"},
    "score.5": {"da": "Rigtig godt", "en": "Very well"},
    "story.title": {"da": "Del en historie", "en": "Share a story"},
    "story.submit": {"da": "Del", "en": "Share"},
    "story.cancel": {"da": "Annullér", "en": "Cancel"},
    "story.rule_context": {"da": "Ugens regel: {rule}", "en": "This week's rule: {rule}"},
    "story.text_label": {"da": "Din historie", "en": "Your story"},
    "story.text_placeholder": {
        "da": "Hvad skete der, og hvem gjorde en forskel?",
        "en": "What happened, and who made a difference?",
    },
    "story.visibility_label": {"da": "Hvem må se den?", "en": "Who may see it?"},
    "story.visibility.named": {
        "da": "Del med mit navn",
        "en": "Share with my name",
    },
    "story.visibility.anonymous": {"da": "Del anonymt", "en": "Share anonymously"},
    "story.visibility.private": {
        "da": "Hold den ude af rapporter (tælles kun med)",
        "en": "Keep it out of reports (only counted)",
    },
    "story.error.empty": {"da": "Skriv venligst din historie.", "en": "Please write your story."},
    "story.error.too_long": {
        "da": "Højst {limit} tegn; din har {length}.",
        "en": "At most {limit} characters; yours has {length}.",
    },
    "story.error.round_gone": {
        "da": "Denne runde findes ikke længere; din historie blev ikke gemt.",
        "en": "This round no longer exists; your story was not saved.",
    },
    "story.error.round_closed": {
        "da": "Denne uges runde er lukket; historien blev ikke gemt. Tak alligevel!",
        "en": "This week's round has closed; your story was not saved. Thank you all the same!",
    },
    "story.error.save_failed": {
        "da": "Vi kunne ikke gemme din historie lige nu. Prøv igen om lidt; teksten er bevaret.",
        "en": "We could not save your story just now. Please try again; your text is kept.",
    },
    "error.bad_action": {
        "da": "Den knap virker ikke (ugyldige data). Intet blev gemt.",
        "en": "That button did not work (invalid data). Nothing was saved.",
    },
    "error.unknown_round": {
        "da": "Den runde findes ikke. Intet blev gemt.",
        "en": "That round does not exist. Nothing was saved.",
    },
    "error.save_failed": {
        "da": "Vi kunne ikke gemme dit svar lige nu. Prøv venligst igen.",
        "en": "We could not save your answer just now. Please try again.",
    },
    "report.refused": {
        "da": "Beklager, rapporten er kun for udvalgte ledere.",
        "en": "Sorry, this report is only available to selected leaders.",
    },
    "report.title": {
        "da": "Tillidsrapport: de seneste {weeks} uger",
        "en": "Trust report: the last {weeks} weeks",
    },
    "report.for_team": {"da": "team {team}", "en": "team {team}"},
    "report.for_rule": {"da": "regel #{rule}", "en": "rule #{rule}"},
    "privacy.threshold": {
        "da": "Tal for en gruppe vises kun med mindst {answers} svar fra mindst {asked} "
        "adspurgte: en læser, der selv svarede, ser stadig {others} andre, og ingen kan se, "
        "hvem der ikke svarede.",
        "en": "A group's figures are shown only with at least {answers} answers from at least "
        "{asked} people asked: a reader who answered still sees {others} others, and no one "
        "can tell who did not answer.",
    },
    "report.context": {
        "da": "{threshold} En uge vises først, når den er lukket. Tidszone {tz}.",
        "en": "{threshold} A week is shown once it has closed. Time zone {tz}.",
    },
    "report.headline": {
        "da": "Tillidsindeks {index}{change} · {favourable} positive · deltagelse "
        "{participation} ({answers} svar)",
        "en": "Trust index {index}{change} · {favourable} favourable · participation "
        "{participation} ({answers} answers)",
    },
    "report.headline.banded": {
        "da": "Tillidsindeks {index}{change} · deltagelse {participation} ({answers} svar)",
        "en": "Trust index {index}{change} · participation {participation} ({answers} answers)",
    },
    "report.headline.none": {
        "da": "Endnu ingen lukket uge med nok svar i perioden.",
        "en": "No closed week with enough answers in this period yet.",
    },
    "alert.index_drop": {
        "da": "Regel #{rule} faldt fra {before} til {after} ({periods}, {answers} svar)",
        "en": "Rule #{rule} fell from {before} to {after} ({periods}, {answers} answers)",
    },
    "alert.participation_drop": {
        "da": "Deltagelsen faldt til {after} fra {before} i snit ({period})",
        "en": "Participation fell to {after} from {before} on average ({period})",
    },
    "alert.participation_drop.at_least": {
        "da": "Deltagelsen faldt til {after} fra mindst {before} i snit ({period})",
        "en": "Participation fell to {after} from at least {before} on average ({period})",
    },
    "report.weekly": {"da": "Uge for uge", "en": "Week by week"},
    "report.rules": {"da": "Pr. regel", "en": "Per rule"},
    "report.teams": {"da": "Pr. team, {period}", "en": "Per team, {period}"},
    "report.col.week": {"da": "Uge", "en": "Week"},
    "report.col.rule": {"da": "Regel", "en": "Rule"},
    "report.col.answered": {"da": "Svar", "en": "Answered"},
    "report.col.index": {"da": "Indeks", "en": "Index"},
    "report.col.favourable": {"da": "Positive", "en": "Fav."},
    "report.col.change": {"da": "Ændring", "en": "Change"},
    "report.col.stories": {"da": "Historier", "en": "Stories"},
    "report.col.latest": {"da": "Senest", "en": "Latest"},
    "report.col.team": {"da": "Team", "en": "Team"},
    "report.open": {"da": "åben", "en": "open"},
    "report.no_round": {"da": "ingen runde", "en": "no round"},
    "report.not_enough": {"da": "for få til at vise", "en": "too few to show"},
    "report.stories": {"da": "Seneste historier", "en": "Latest stories"},
    "report.no_stories": {"da": "Ingen delte historier endnu.", "en": "No stories shared yet."},
    "report.anonymous": {"da": "anonym", "en": "anonymous"},
    "report.colleague": {"da": "en kollega", "en": "a colleague"},
    "report.usage": {
        "da": "Brug: `{report} [uger] [rule=N] [team=NAVN]`, uger fra 1 til {max} "
        "(standard {default}).",
        "en": "Usage: `{report} [weeks] [rule=N] [team=NAME]`, weeks from 1 to {max} "
        "(default {default}).",
    },
    "report.chart_title": {
        "da": "Tillidsindeks pr. regel, seneste {weeks} uger",
        "en": "Trust index per rule, last {weeks} weeks",
    },
    "report.chart_note": {
        "da": "Huller: for få til at vise",
        "en": "Gaps: too few to show",
    },
    "report.chart_empty": {"da": "Endnu ingen tal", "en": "No figures yet"},
    "report.chart_overall": {"da": "Ugens indeks", "en": "Week's index"},
    "report.chart_sent": {
        "da": "Udviklingen som graf ligger i din direkte besked fra trustbot.",
        "en": "The trend chart is in your direct messages with trustbot.",
    },
    "home.title": {"da": "Din tillidspuls", "en": "Your trust pulse"},
    "home.privacy": {
        "da": "Kun du ser dine egne svar her. Rapporter viser kun tal fra flere svar samlet.",
        "en": "Only you see your own answers here. Reports only show figures from several "
        "answers together.",
    },
    "home.answers": {"da": "Dine seneste svar", "en": "Your recent answers"},
    "home.no_answers": {"da": "Ingen runder endnu.", "en": "No rounds yet."},
    "home.you": {"da": "Dig", "en": "You"},
    "home.not_answered": {"da": "ikke besvaret", "en": "not answered"},
    "home.open": {"da": "runden er åben", "en": "the round is open"},
    "home.company": {"da": "alle: indeks {index}", "en": "everyone: index {index}"},
    "home.company_hidden": {"da": "alle: for få til at vise", "en": "everyone: too few to show"},
    "home.active": {
        "da": "Du får ugens spørgsmål.",
        "en": "You get the weekly prompt.",
    },
    "home.paused": {
        "da": "Dine ugentlige spørgsmål er på pause.",
        "en": "Your weekly prompts are paused.",
    },
    "home.pause": {"da": "Sæt på pause", "en": "Pause prompts"},
    "home.resume": {"da": "Genoptag", "en": "Resume prompts"},
    "home.language": {"da": "Sprog", "en": "Language"},
    "help": {
        "da": "Jeg sender ugens spørgsmål her. Skriv `{prompts} pause` eller "
        "`{prompts} resume`; ledere kan skrive `{report} [uger] [rule=N] [team=NAVN]`.",
        "en": "I send the weekly prompt here. Type `{prompts} pause` or "
        "`{prompts} resume`; leaders can type `{report} [weeks] [rule=N] [team=NAME]`.",
    },
    "report.private": {
        "da": "Rapporten er kun for dine øjne: spørg mig i en personlig chat.",
        "en": "The report is for your eyes only: ask me in a personal chat.",
    },
    "digest.title": {"da": "Tillidsoverblik, {period}", "en": "Trust digest, {period}"},
    "digest.stories": {
        "da": "Historier fra {period} (regel #{rule})",
        "en": "Stories from {period} (rule #{rule})",
    },
    "report.failed": {
        "da": "Rapporten kunne ikke laves lige nu. Prøv igen om lidt.",
        "en": "The report could not be made just now. Please try again shortly.",
    },
}


def text(key: str, language: Language, **values: object) -> str:
    """The catalogue text for `key` in `language`, with `values` filled in."""
    template = _TEXTS[key][language]
    return template.format(**values) if values else template


def keys() -> list[str]:
    """Every catalogue key (for tests that check both languages are complete)."""
    return list(_TEXTS)


def score_label(score: int, language: Language) -> str:
    """The words for a 1-5 pulse score."""
    return text(f"score.{score}", language)
