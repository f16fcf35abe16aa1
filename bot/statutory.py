"""Statutory days off computed from 《全国年节及纪念日放假办法》 (as revised in 2024, in force
since 2025-01-01), for years whose official arrangement is not in the data yet.

The law fixes the days themselves; only how they are joined to weekends (调休) is announced each
year by the State Council. So a year nobody has data for can still skip these 13 days:

- 元旦 1 day: January 1;
- 春节 4 days: 除夕 (the last day of the lunar year) to 正月初三, from the lunar calendar;
- 清明 1 day: the day of the solar term 清明;
- 劳动节 2 days: May 1–2;
- 端午 1 day: lunar 5/5;
- 中秋 1 day: lunar 8/15;
- 国庆 3 days: October 1–3.

The lunar dates and the solar term come from ``lunar-python`` (pure Python, no data files).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from lunar_python import Lunar, Solar

__all__ = ["statutory_days_off"]


def _solar(lunar: Lunar) -> date:
    solar = lunar.getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


@lru_cache(maxsize=64)
def statutory_days_off(year: int) -> dict[date, str]:
    """Return the statutory days off of a Gregorian year, each with its holiday's name."""
    days: dict[date, str] = {date(year, 1, 1): "元旦"}
    new_year = Lunar.fromYmd(year, 1, 1)  # 正月初一 of the lunar year starting in `year`
    eve = _solar(new_year.next(-1))
    for k in range(4):
        days[eve + timedelta(days=k)] = "春节"
    qingming = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"]
    days[date(qingming.getYear(), qingming.getMonth(), qingming.getDay())] = "清明节"
    days[date(year, 5, 1)] = days[date(year, 5, 2)] = "劳动节"
    days[_solar(Lunar.fromYmd(year, 5, 5))] = "端午节"
    days[_solar(Lunar.fromYmd(year, 8, 15))] = "中秋节"
    for k in (1, 2, 3):
        days[date(year, 10, k)] = "国庆节"
    return days
