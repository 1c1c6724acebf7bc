"""The reports' filter form (GET): what it offers is the viewer's own scope (ads.reports.filter_choices)."""
from django import forms
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from ads import reports


class ListSelect(forms.Select):
    """A <select> whose options are written in Python: Django renders one template per option, which
    took most of the reports page's time with a thousand campaigns in the list (the markup is the same)."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = "" if value is None else str(value)
        attrs = self.build_attrs(self.attrs, attrs)
        options = format_html_join("", '<option value="{}"{}>{}</option>',
                                   ((key, mark_safe(" selected") if str(key) == chosen else "", label)
                                    for key, label in self.choices))
        extra = mark_safe("".join(format_html(' {}="{}"', k, v) for k, v in attrs.items() if v not in (None, False)))
        return format_html('<select name="{}"{}>{}</select>', name, extra, conditional_escape(options))


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From (ad day)"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To (ad day)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    advertiser = forms.TypedChoiceField(label=_("Advertiser"), required=False, coerce=int, empty_value=None,
                                 widget=ListSelect)
    campaign = forms.TypedChoiceField(label=_("Campaign"), required=False, coerce=int, empty_value=None,
                                 widget=ListSelect)
    keyword = forms.TypedChoiceField(label=_("Keyword"), required=False, coerce=int, empty_value=None,
                                 widget=ListSelect)
    placement = forms.TypedChoiceField(label=_("Placement"), required=False, coerce=int, empty_value=None,
                                 widget=ListSelect)
    pricing = forms.ChoiceField(label=_("Pricing"), required=False)
    traffic = forms.ChoiceField(label=_("Traffic"), required=False, choices=[
        ("all", _("All traffic")), ("valid", _("Valid traffic")), ("invalid", _("Invalid traffic"))])

    def __init__(self, *args, viewer: reports.Viewer, **kwargs):
        super().__init__(*args, **kwargs)
        choices = reports.filter_choices(viewer=viewer)
        every = [("", _("All"))]
        if viewer.analyst:
            self.fields["advertiser"].choices = every + choices["advertisers"]
        else:
            del self.fields["advertiser"]
        self.fields["campaign"].choices = every + choices["campaigns"]
        self.fields["keyword"].choices = every + choices["keywords"]
        self.fields["placement"].choices = every + choices["placements"]
        self.fields["pricing"].choices = every + list(choices["pricing"])

    def filters(self) -> reports.ReportFilters:
        """The filters from the valid fields (a field in error falls back to its default)."""
        self.is_valid()
        data, default = getattr(self, "cleaned_data", {}), reports.filters_default()
        return reports.ReportFilters(
            date_from=data.get("date_from") or default.date_from, date_to=data.get("date_to") or default.date_to,
            advertiser_id=data.get("advertiser"), campaign_id=data.get("campaign"), keyword_id=data.get("keyword"),
            placement_id=data.get("placement"), pricing=data.get("pricing") or "", traffic=data.get("traffic") or "all")
