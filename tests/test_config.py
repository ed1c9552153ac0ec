"""Settings precedence: arguments, then environment, then agentloop.toml / pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentloop import ConfigurationError
from agentloop.config import Settings, load_settings

SECRET = "sk-test-SECRET-0123456789abcdef"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_nothing_set(tmp_path: Path) -> None:
    settings = load_settings({}, {}, tmp_path)
    assert settings == Settings()
    assert settings.model is None and settings.config_file is None


def test_arguments_beat_environment_beat_file(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.agentloop]\nmodel = "ollama:file"\n'
        'base_url = "http://file/v1"\nmax_steps = 3\ntool_choice = "required"\n',
    )
    env = {"AGENTLOOP_MODEL": "ollama:env", "AGENTLOOP_MAX_STEPS": "5"}
    settings = load_settings({"model": "ollama:arg", "max_steps": None}, env, tmp_path)
    assert settings.model == "ollama:arg"
    assert settings.max_steps == 5
    assert settings.base_url == "http://file/v1"
    assert settings.tool_choice == "required"
    assert settings.sources == {
        "model": "--model",
        "max_steps": "env AGENTLOOP_MAX_STEPS",
        "base_url": "pyproject.toml",
        "tool_choice": "pyproject.toml",
    }
    assert settings.config_file == tmp_path / "pyproject.toml"
    assert settings.describe("model") == "model=ollama:arg (from --model)"


def test_agentloop_toml_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.agentloop]\nmodel = "ollama:py"\n')
    write(tmp_path / "agentloop.toml", 'model = "ollama:toml"\nstream = false\ntimeout = 5\n')
    settings = load_settings({}, {}, tmp_path)
    assert (settings.model, settings.stream, settings.timeout) == ("ollama:toml", False, 5.0)
    assert settings.sources["model"] == "agentloop.toml"


def test_pyproject_without_table_is_ignored(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    assert load_settings({}, {}, tmp_path).config_file is None


def test_provider_key_variable_beats_generic_one(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-openai", "AGENTLOOP_API_KEY": "sk-generic"}
    settings = load_settings({"model": "openai:gpt-4o"}, env, tmp_path)
    assert settings.api_key == "sk-openai"
    assert settings.sources["api_key"] == "env OPENAI_API_KEY"
    settings = load_settings({"model": "gemini:g"}, env, tmp_path)
    assert settings.api_key == "sk-generic"
    settings = load_settings({}, env, tmp_path)
    assert settings.api_key == "sk-generic"
    settings = load_settings({"model": "ollama:x"}, env, tmp_path)
    assert settings.api_key is None


def test_key_from_file_is_last_and_hidden(tmp_path: Path) -> None:
    write(tmp_path / "agentloop.toml", f'model = "openai:x"\napi_key = "{SECRET}"\n')
    settings = load_settings({}, {}, tmp_path)
    assert settings.api_key == SECRET
    assert SECRET not in repr(settings)
    assert SECRET not in settings.describe("api_key")
    assert load_settings({}, {"OPENAI_API_KEY": "sk-env"}, tmp_path).api_key == "sk-env"


@pytest.mark.parametrize(
    "text, message",
    [
        ('modle = "x"\n', "unknown setting 'modle'"),
        ("max_steps = 'many'\n", "max_steps from agentloop.toml must be an integer"),
        ("stream = 1\n", "stream from agentloop.toml must be true or false"),
        ("model = [\n", "cannot read config file"),
    ],
)
def test_bad_config_files(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "agentloop.toml", text)
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(")):
        load_settings({}, {}, tmp_path)


def test_bad_environment_values_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="env AGENTLOOP_MAX_STEPS"):
        load_settings({}, {"AGENTLOOP_MAX_STEPS": "lots"}, tmp_path)
    settings = load_settings({}, {"AGENTLOOP_MODEL": "  ", "AGENTLOOP_TIMEOUT": "2.5"}, tmp_path)
    assert settings.model is None and settings.timeout == 2.5


def test_base_url_argument_beats_environment_beats_file(tmp_path: Path) -> None:
    write(tmp_path / "agentloop.toml", 'base_url = "http://file/v1"\n')
    env = {"AGENTLOOP_BASE_URL": "http://env/v1"}
    assert load_settings({}, {}, tmp_path).base_url == "http://file/v1"
    assert load_settings({}, env, tmp_path).base_url == "http://env/v1"
    settings = load_settings({"base_url": "http://arg/v1"}, env, tmp_path)
    assert settings.base_url == "http://arg/v1"
    assert settings.sources["base_url"] == "--base-url"


# -- issue 18/19: found from a subfolder; typos, depth and bounds are one line naming the file --


def test_config_is_found_from_a_subfolder_up_to_the_repository_root(tmp_path: Path) -> None:
    project = tmp_path / "project"
    sub = project / "src" / "deep"
    sub.mkdir(parents=True)
    (project / ".git").mkdir()
    write(project / "agentloop.toml", 'model = "ollama:found"\n')
    settings = load_settings({}, {"HOME": str(tmp_path)}, sub)
    assert settings.model == "ollama:found"
    assert settings.config_file == (project / "agentloop.toml").resolve()


def test_the_walk_stops_at_a_repository_root_and_at_home(tmp_path: Path) -> None:
    write(tmp_path / "agentloop.toml", 'model = "ollama:outside"\n')
    repo = tmp_path / "repo" / "sub"
    repo.mkdir(parents=True)
    (tmp_path / "repo" / ".hg").mkdir()
    assert load_settings({}, {"HOME": "/nonexistent"}, repo).model is None
    home = tmp_path / "home" / "me"
    (home / "work").mkdir(parents=True)
    assert load_settings({}, {"HOME": str(home)}, home / "work").model is None


def test_a_pyproject_above_without_the_table_does_not_stop_the_walk(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pyproject.toml", '[tool.agentloop]\nmodel = "ollama:top"\n')
    sub = tmp_path / "pkg"
    sub.mkdir()
    write(sub / "pyproject.toml", '[project]\nname = "agentloop-thing"\n')
    assert load_settings({}, {"HOME": "/nonexistent"}, sub).model == "ollama:top"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('tool = "calculate"\n', "unknown setting 'tool'.*did you mean 'tools'"),
        ("a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        ("max_steps = -1\n", "max_steps from agentloop.toml must be >= 1"),
        ("max_retries = -2\n", "max_retries from agentloop.toml must be >= 0"),
        ("timeout = 0\n", "timeout from agentloop.toml must be > 0"),
    ],
)
def test_config_mistakes_are_one_line_naming_the_file(
    tmp_path: Path, text: str, match: str
) -> None:
    write(tmp_path / "agentloop.toml", text)
    with pytest.raises(ConfigurationError, match=match) as caught:
        load_settings({}, {"HOME": str(tmp_path)}, tmp_path)
    assert "\n" not in str(caught.value)


def test_registry_errors_about_config_names_name_the_file(tmp_path: Path) -> None:
    from agentloop.config import name_config_file

    write(tmp_path / "agentloop.toml", 'tools = ["nope"]\n')
    error = name_config_file(ConfigurationError("unknown tool 'nope'; offered: a"), tmp_path)
    assert str(error).startswith(f"{tmp_path / 'agentloop.toml'} (tools): unknown tool 'nope'")
    other = ConfigurationError("unknown tool 'other'")
    assert name_config_file(other, tmp_path) is other
