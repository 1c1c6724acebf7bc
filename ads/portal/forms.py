"""The portal's forms: they parse input; the rules live in ads.services."""
from decimal import Decimal

from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.utils.translation import gettext_lazy as _

from ads.credit_code import normalize, validate_credit_code
from ads.models import AdvertiserUser, Campaign, CampaignKeyword
from contentlib.models import Category

LANGUAGES = [("zh", _("Chinese")), ("en", _("English"))]
MONEY = {"min_value": Decimal("0.01"), "max_digits": 14, "decimal_places": 2}


class SignUpForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=200,
                           help_text=_("As on the business licence."))
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=30,
                                  help_text=_("18 characters, on the business licence (统一社会信用代码)."))
    address = forms.CharField(label=_("Address"), max_length=300)
    contact_name = forms.CharField(label=_("Contact person"), max_length=100)
    phone = forms.CharField(label=_("Phone"), max_length=40)
    email = forms.EmailField(label=_("Email"), help_text=_("Notices and the password reset go here."))
    username = forms.RegexField(label=_("Username"), max_length=150, regex=r"^[\w.@+-]+\Z",
                                error_messages={"invalid": _("Use letters, digits and @ . + - _ only.")},
                                help_text=_("You sign in with it; you are the account's owner."))
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False,
                                help_text=password_validators_help_text_html)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)

    def clean_credit_code(self):
        code = normalize(self.cleaned_data["credit_code"])
        validate_credit_code(code)
        return code

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ. Type the same password twice."))
        return cleaned


class AcceptInvitationForm(forms.Form):
    username = forms.RegexField(label=_("Username"), max_length=150, regex=r"^[\w.@+-]+\Z",
                                error_messages={"invalid": _("Use letters, digits and @ . + - _ only.")})
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False,
                                help_text=password_validators_help_text_html)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ. Type the same password twice."))
        return cleaned


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=[(AdvertiserUser.Role.MEMBER, _("Member")),
                                                       (AdvertiserUser.Role.REPORTER, _("Reporter (read only)"))])


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=500)
    body = forms.CharField(label=_("Body (Markdown)"), widget=forms.Textarea(attrs={"rows": 16}),
                           help_text=_("Markdown: # headings, **bold**, lists, [links](https://…). HTML is shown as text."))
    source_url = forms.URLField(label=_("Source URL"), required=False, max_length=2000, assume_scheme="https",
                                help_text=_("Where it was first published, if anywhere."))
    keywords = forms.CharField(label=_("Suggested keywords"), required=False, max_length=1000,
                               help_text=_("Separated by commas; the editors and enrichment decide the final ones."))
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    pricing = forms.ChoiceField(label=_("Pricing"), choices=Campaign.Pricing.choices)
    max_bid = forms.DecimalField(label=_("Max bid (CNY)"), **MONEY,
                                 help_text=_("Per click (CPC) or per thousand impressions (CPM)."))
    daily_budget = forms.DecimalField(label=_("Daily budget (CNY)"), **MONEY)
    total_budget = forms.DecimalField(label=_("Total budget (CNY)"), **MONEY)
    start_date = forms.DateField(label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end_date = forms.DateField(label=_("End date"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    hours = forms.TypedMultipleChoiceField(
        label=_("Hours of the day"), required=False, coerce=int, choices=[(h, f"{h:02d}") for h in range(24)],
        widget=forms.CheckboxSelectMultiple, help_text=_("China Standard Time. None ticked: all day."))
    languages = forms.MultipleChoiceField(label=_("Languages"), required=False, choices=LANGUAGES,
                                          widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: every language."))
    categories = forms.ModelMultipleChoiceField(label=_("Categories"), required=False,
                                                queryset=Category.objects.order_by("name"),
                                                widget=forms.CheckboxSelectMultiple,
                                                help_text=_("None ticked: every category."))
    frequency_cap = forms.IntegerField(label=_("Frequency cap"), required=False, min_value=1,
                                       help_text=_("Impressions per reader per day; empty: no cap."))


class KeywordsForm(forms.Form):
    lines = forms.CharField(label=_("Keywords, one a line"), widget=forms.Textarea(attrs={"rows": 6}))
    match_type = forms.ChoiceField(label=_("Match type"), choices=CampaignKeyword.Match.choices,
                                   initial=CampaignKeyword.Match.PHRASE)
    negative = forms.BooleanField(label=_("Negative keywords (never show for these)"), required=False)
    bid = forms.DecimalField(label=_("Own bid (CNY)"), required=False, **MONEY,
                             help_text=_("Empty: the campaign's max bid."))


class PromotionForm(forms.Form):
    article = forms.ModelChoiceField(label=_("Article"), queryset=None,
                                     help_text=_("Your approved articles."))
    headline = forms.CharField(label=_("Headline"), required=False, max_length=100,
                               help_text=_("Optional; the article's title otherwise."))
    landing_url = forms.URLField(label=_("Landing URL"), required=False, max_length=2000, assume_scheme="https",
                                 help_text=_("Optional, on a verified domain; empty: the article's page here."))

    def __init__(self, *args, articles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["article"].queryset = articles


class DomainForm(forms.Form):
    domain = forms.CharField(label=_("Domain"), max_length=253, help_text=_("For example example.com."))


class ExplainForm(forms.Form):
    question = forms.CharField(label=_("Question"), max_length=500,
                               help_text=_("As a reader would ask it, e.g. 展台设计多少钱."))


class PlannerForm(forms.Form):
    seeds = forms.CharField(label=_("Seed keywords"), required=False, max_length=1000,
                            widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=_("One a line or separated by commas, e.g. 展览制作."))
    article = forms.ModelChoiceField(label=_("Or one of your articles"), queryset=None, required=False,
                                     help_text=_("Its extracted keywords are suggested, with what readers search beside them."))

    def __init__(self, *args, articles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["article"].queryset = articles
