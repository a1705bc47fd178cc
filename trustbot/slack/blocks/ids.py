"""Action, block and callback ids shared by the builders and the listeners."""

import re

SCORE_ACTION_PREFIX = "pulse_score:"
SCORE_ACTION = re.compile(r"^pulse_score:\d$")
SHARE_STORY_ACTION = "share_story"
STORY_CALLBACK = "story_submit"
STORY_TEXT_BLOCK, STORY_TEXT_ACTION = "story", "text"
STORY_VISIBILITY_BLOCK, STORY_VISIBILITY_ACTION = "visibility", "choice"
PROMPT_ANSWER_BLOCK = "pulse_answer"
PROMPT_MENU_ACTION = "prompt_menu"  # the overflow menu on a prompt: pause prompts
PAUSE_VALUE = "pause"
HOME_PAUSE_ACTION = "home_pause"  # the home tab's pause / resume button
HOME_LANGUAGE_ACTION = "home_language"  # the home tab's language menu
