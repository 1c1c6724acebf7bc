"""The staff roles: which permissions the Editors and Analysts groups hold.

Migrations create the groups, each with the definition frozen as it was when it was written
(0002, 0005, 0009, 0011); `groups_ensure` puts them back to this definition at any time (after a database
flush, or when a later app adds permissions). ads 0004 gave the groups the portal's permissions:
Editors decide advertisers and review campaigns; topping up and refunding (`ads.manage_balance`)
belongs to no group, only to superusers and whom they grant it.
"""
EDITORS = "Editors"
ANALYSTS = "Analysts"

GROUP_PERMISSIONS = {
    EDITORS: {
        "contentlib": [
            "view_article", "change_article", "moderate_article",
            "view_source", "add_source", "change_source",
            "view_category", "add_category", "change_category",
            "view_keyword", "view_articlekeyword", "view_moderationevent",
            "view_articlerevision",  # decided with moderate_article
            "view_question", "change_question", "view_answer", "change_answer", "view_answerreference",
            "view_answerreport", "change_answerreport",  # readers' reports of wrong answers (0011)
        ],
        "ads": [
            "view_advertiser", "decide_advertiser", "view_advertiseruser", "view_submission",
            "view_campaign", "review_campaign", "view_campaignkeyword", "view_promotion", "view_campaignreview",
            "view_campaignchange", "view_verifieddomain", "view_ledgerentry", "view_notice",
        ],
        "crawlers": ["view_crawlrun", "view_crawlpage"],  # read-only in admin for everyone
    },
    ANALYSTS: {
        "contentlib": [
            "view_article", "view_source", "view_category", "view_keyword", "view_articlekeyword",
            "view_moderationevent", "view_articlerevision",
            "view_question", "view_answer", "view_answerreference", "view_answerreport",
        ],
        "ads": ["view_advertiser", "view_campaign", "view_campaignkeyword", "view_promotion", "view_campaignreview",
                "view_campaignchange", "view_ledgerentry"],
        "crawlers": ["view_crawlrun", "view_crawlpage"],
        "payments": ["view_payment", "view_paymentorder", "view_plan"],  # VIP members and revenue (/reports/vip/)
    },
}


def groups_ensure(group_model=None, permission_model=None, definition: dict | None = None) -> None:
    """Creates the groups and adds their permissions (`definition`, by default GROUP_PERMISSIONS).

    Migrations pass historical models and their own frozen definition.
    """
    if group_model is None:
        from django.contrib.auth.models import Group as group_model, Permission as permission_model  # noqa: N813

    for name, wanted in (definition or GROUP_PERMISSIONS).items():
        group, _ = group_model.objects.get_or_create(name=name)
        for app_label, codenames in wanted.items():
            perms = permission_model.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            missing = set(codenames) - set(perms.values_list("codename", flat=True))
            if missing:
                raise RuntimeError(f"Permissions missing for {name}: {sorted(missing)}; run manage.py migrate.")
            group.permissions.add(*perms)
