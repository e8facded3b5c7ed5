import pytest

from apps.core.redirects import safe_next


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/journal/3/", "/journal/3/"),
        ("/home/?x=1#y", "/home/?x=1#y"),
        ("", "fallback"),
        ("//evil.example/", "fallback"),
        ("/\\evil.example/", "fallback"),
        ("https://evil.example/", "fallback"),
        ("home:dashboard", "fallback"),  # a view name, not a path
        ("javascript:alert(1)", "fallback"),
    ],
)
def test_safe_next_keeps_only_paths_on_this_site(rf, target, expected):
    request = rf.post("/", {"next": target})
    assert safe_next(request, "fallback") == expected
