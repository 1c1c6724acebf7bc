"""The reports' filter form (GET): what it offers is the viewer's own scope (ads.reports.filter_choices)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from ads import reports


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From (ad day)"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To (ad day)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    advertiser = forms.TypedChoiceField(label=_("Advertiser"), required=False, coerce=int, empty_value=None)
    campaign = forms.TypedChoiceField(label=_("Campaign"), required=False, coerce=int, empty_value=None)
    keyword = forms.TypedChoiceField(label=_("Keyword"), required=False, coerce=int, empty_value=None)
    placement = forms.TypedChoiceField(label=_("Placement"), required=False, coerce=int, empty_value=None)
    pricing = forms.ChoiceField(label=_("Pricing"), required=False)
    traffic = forms.ChoiceField(label=_("Traffic"), required=False, choices=[
        ("all", _("All traffic")), ("valid", _("Valid traffic")), ("invalid", _("Invalid traffic"))])

    def __init__(self, *args, viewer: reports.Viewer, **kwargs):
        super().__init__(*args, **kwargs)
        choices = reports.filter_choices(viewer=viewer)
        every = [("", _("All"))]
        if viewer.analyst:
            self.fields["advertiser"].choices = every + [(a.id, a.name) for a in choices["advertisers"]]
        else:
            del self.fields["advertiser"]
        self.fields["campaign"].choices = every + [
            (c.id, f"{c.advertiser.name} · {c.name}" if viewer.analyst else c.name) for c in choices["campaigns"]]
        self.fields["keyword"].choices = every + [(k.id, f"{k.text} ({k.campaign.name})") for k in choices["keywords"]]
        self.fields["placement"].choices = every + [(p.id, p.name or p.slug) for p in choices["placements"]]
        self.fields["pricing"].choices = every + list(choices["pricing"])

    def filters(self) -> reports.ReportFilters:
        """The filters from the valid fields (a field in error falls back to its default)."""
        self.is_valid()
        data, default = getattr(self, "cleaned_data", {}), reports.filters_default()
        return reports.ReportFilters(
            date_from=data.get("date_from") or default.date_from, date_to=data.get("date_to") or default.date_to,
            advertiser_id=data.get("advertiser"), campaign_id=data.get("campaign"), keyword_id=data.get("keyword"),
            placement_id=data.get("placement"), pricing=data.get("pricing") or "", traffic=data.get("traffic") or "all")
