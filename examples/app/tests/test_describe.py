from tinyweather import describe


def test_describe_formats_time_and_temperature() -> None:
    line = describe({"time": "2024-05-01T12:30:00Z", "temp_c": 21.46})
    assert line == "2024-05-01 12:30: 21.5 °C"
