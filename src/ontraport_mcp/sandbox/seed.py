"""Deterministic demo account: the same seed always yields the same records.

Every object type of the meta snapshot gets records using the snapshot's field names.  A few
"anchor" records have fixed ids and values whatever the seed (see ``ANCHORS``); the rest is drawn
from ``random.Random(seed)``.  Timestamps are spread over the two years before ``SEED_EPOCH``.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from . import commerce as cm
from .catalog import first_synthetic_type_id
from .clock import DAY, SEED_EPOCH, money
from .config import SandboxConfig
from .membership import format_list
from .store import Store

# Facts tests and demos may rely on (ids are stable for every seed).
ANCHORS: dict[str, Any] = {
    "contact_email": "ada.quill@example.com",  # contact 1, tags VIP(1)+Customer(2), card 1 (default, ok)
    "declining_contact_id": 2,  # ben.ortiz@example.com, default card 2 declines
    "no_card_contact_id": 3,  # carla.diaz@example.com, note mentions "renewal"
    "shared_email": "shared@example.com",  # contacts 4 and 5
    "declining_card_ids": [2, 6],
    "default_card_id": 1,
    "expired_card_id": 5,
    "invoice_by_status": {
        "unpaid": 2,
        "paid": 1,
        "refunded": 3,
        "partially_refunded": 4,
        "voided": 5,
        "declined": 6,
        "written_off": 7,
        "pending": 8,
        "collections": 9,
        "draft": 10,
    },
    "subscription_order_id": 1,
    "payment_plan_order_id": 2,
    "past_due_order_id": 3,
    "task_message_with_outcomes": 4,
    "task_message_with_form": 5,
    "task_message_plain": 6,
    "pending_task_ids": [1, 2, 5, 6],
    "complete_task_id": 3,
    "cancelled_task_id": 4,
    "gateway_id": 1,
    "inactive_gateway_id": 3,
}

FIRST = [
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "Oliver",
    "Ava",
    "Elijah",
    "Sophia",
    "Lucas",
    "Mia",
    "Mason",
    "Isabella",
    "Logan",
    "Amelia",
    "Ethan",
    "Harper",
    "Aiden",
    "Evelyn",
    "Jacob",
    "Abigail",
    "Mateo",
    "Luna",
    "Henry",
    "Ella",
    "Sebastian",
    "Chloe",
    "Jack",
    "Layla",
    "Owen",
    "Nora",
    "Wyatt",
    "Zoey",
    "Leo",
    "Hazel",
    "Julian",
    "Aria",
    "Ezra",
    "Stella",
    "Hudson",
    "Violet",
    "Maya",
    "Theo",
    "Iris",
    "Omar",
    "Priya",
    "Kenji",
    "Sofia",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Nakamura",
    "Okafor",
]
PLACES = [
    ("San Diego", "CA", "92101"),
    ("Austin", "TX", "73301"),
    ("Brooklyn", "NY", "11201"),
    ("Portland", "OR", "97201"),
    ("Denver", "CO", "80202"),
    ("Miami", "FL", "33101"),
    ("Seattle", "WA", "98101"),
    ("Chicago", "IL", "60601"),
    ("Boston", "MA", "02108"),
    ("Phoenix", "AZ", "85001"),
    ("Santa Barbara", "CA", "93101"),
    ("Nashville", "TN", "37201"),
]
COMPANIES = [
    "Bright Ideas LLC",
    "Summit Coaching",
    "Green Leaf Gardens",
    "Peak Fitness",
    "Blue Harbor Realty",
    "Maple & Co",
    "Northwind Traders",
    "Riverbend Academy",
    "Atlas Outfitters",
    "Copper Kettle Bakery",
]
TITLES = [
    "Owner",
    "Marketing Manager",
    "Coach",
    "Founder",
    "Operations Lead",
    "Consultant",
    "Teacher",
    "Agent",
]
STREETS = [
    "Main St",
    "Oak Ave",
    "Pine St",
    "Maple Dr",
    "Cedar Ln",
    "Elm St",
    "Lakeview Rd",
    "Sunset Blvd",
]
NOTES = [
    "Called and left a voicemail.",
    "Interested in the coaching package.",
    "Asked for a product demo next week.",
    "Prefers email over phone.",
    "Met at the spring workshop.",
    "Requested pricing for the team plan.",
    "Follow up after the holidays.",
    "Happy with the starter kit so far.",
    "Referred by a current customer.",
    "Wants to reschedule the onboarding call.",
]
USERS = [
    (1, "Sam", "Sandbox", "sam@sandbox.example.com", "Admin"),
    (2, "Riley", "Chen", "riley@sandbox.example.com", "Sales Rep"),
    (3, "Jordan", "Patel", "jordan@sandbox.example.com", "Support"),
    (4, "Casey", "Morgan", "casey@sandbox.example.com", "Account Manager"),
]
PRODUCTS = [
    ("Starter Kit", "49.00", "single"),
    ("Pro Membership", "19.00", "subscription"),
    ("Coaching Package", "300.00", "payment_plan"),
    ("E-book: Growth Guide", "15.00", "single"),
    ("Workshop Ticket", "120.00", "single"),
    ("Premium Support", "29.00", "subscription"),
    ("Gift Card", "25.00", "single"),
    ("Annual Plan", "199.00", "single"),
]
TAGS = [
    ("VIP", 0),
    ("Customer", 0),
    ("Lead", 0),
    ("Newsletter", 0),
    ("Webinar Attendee", 0),
    ("Cold", 0),
    ("Partner", 0),
    ("Churn Risk", 0),
    ("Honor Roll", 10000),
    ("Featured Listing", 10001),
    ("Fleet", 10002),
    ("Key Account", 150),
    ("Hot Deal", 149),
]


class Seeder:
    def __init__(self, store: Store, config: SandboxConfig) -> None:
        self.s = store
        self.cfg = config
        self.rng = random.Random(config.seed)
        self.n_contacts = max(config.contacts, 12)

    # -------------------------------------------------------------- helpers
    def ins(self, tid: int, **values: Any) -> int:
        return self.s.insert(tid, values)

    def past(self, max_days: int = 730, min_days: int = 0) -> int:
        return (
            SEED_EPOCH
            - self.rng.randint(min_days * DAY, max_days * DAY)
            - self.rng.randint(0, DAY - 1)
        )

    def after(self, ts: int) -> int:
        return self.rng.randint(ts, max(ts, SEED_EPOCH - 60))

    def uid(self, tid: int, rid: int) -> str:
        return hashlib.sha1(f"{self.cfg.seed}:{tid}:{rid}".encode()).hexdigest()[:10].upper()

    def tag(self, tid: int, rid: int, tags: list[int], date: int) -> str | None:
        for t in tags:
            self.ins(138, object_id=rid, object_type_id=tid, tag_id=t, date=date)
        return format_list(tags)

    def sequences(self, tid: int, rid: int, seqs: list[int], date: int) -> str | None:
        for sq in seqs:
            self.ins(
                8,
                contact_id=rid,
                drip_id=sq,
                object_type_id=tid,
                step_num=self.rng.randint(1, 6),
                subscribe_date=date,
                next_step_date=date + self.rng.randint(1, 14) * DAY,
                pause="0",
            )
        return format_list(seqs)

    def campaigns(self, tid: int, rid: int, camps: list[int], date: int) -> str | None:
        for c in camps:
            self.ins(
                100,
                contact_id=rid if tid == 0 else None,
                object_type_id=tid,
                object_id=rid,
                campaign_id=c,
                description=f"Added to automation: {self.camp_names[c - 1]}",
                date=date,
            )
        return format_list(camps)

    def relate(
        self,
        parent_type: int,
        parent_id: int,
        child_type: int,
        child_id: int,
        field: str,
        date: int,
    ) -> None:
        self.ins(
            102,
            parent_object_type_id=parent_type,
            parent_id=parent_id,
            child_object_type_id=child_type,
            child_id=child_id,
            field=field,
            date=date,
        )

    # -------------------------------------------------------------- run
    def run(self) -> None:
        self.account_setup()
        self.contacts()
        self.activity()
        self.tasks()
        self.cards()
        self.invoices()
        self.partners()
        self.pages_and_groups()
        self.crm_objects()
        self.custom_objects()
        self.counters()

    def account_setup(self) -> None:
        for uid_, fn, ln, email, role in USERS:
            self.ins(
                2,
                firstname=fn,
                lastname=ln,
                email=email,
                role=role,
                date=SEED_EPOCH - 900 * DAY + uid_ * DAY,
            )
        self.ins(
            35,
            name="Affiliate Program",
            level1="20",
            level2="5",
            cookie_days="30",
            date=SEED_EPOCH - 700 * DAY,
        )
        self.ins(
            35,
            name="Reseller Program",
            level1="30",
            level2="10",
            cookie_days="60",
            date=SEED_EPOCH - 500 * DAY,
        )
        for name, otype in TAGS:
            self.ins(14, tag_name=name, object_type_id=otype, group_id="0")
        seqs = [
            ("Welcome Series", 0, "0", "0"),
            ("Onboarding Drip", 0, "0", "0"),
            ("Re-engagement", 0, "0", "1"),
            ("Student Reminders", 10000, "1", "0"),
        ]
        for i, (name, otype, stype, pause) in enumerate(seqs):
            d = SEED_EPOCH - (680 - i * 60) * DAY
            self.ins(
                5,
                name=name,
                object_type_id=otype,
                type=stype,
                pause=pause,
                subscribers="0",
                date=d,
                dlm=d + 30 * DAY,
            )
        self.camp_names = [
            "New Lead Nurture",
            "Customer Onboarding",
            "Abandoned Cart",
            "Webinar Follow-up",
            "Win-back",
        ]
        for i, name in enumerate(self.camp_names):
            d = SEED_EPOCH - (650 - i * 70) * DAY
            paused = "1" if name == "Webinar Follow-up" else "0"
            self.ins(
                140,
                name=name,
                object_type_id=0,
                pause=paused,
                state="paused" if paused == "1" else "live",
                subs="0",
                subs_ever="0",
                element_num=str(4 + i * 3),
                todos=str(i % 3),
                deleted="0",
                date=d,
                dlm=d + 40 * DAY,
            )
        rules = [
            ("Tag new buyers", "Contact_added_to_category(2)", "", "Assign_contact_to_drip(2)"),
            ("VIP welcome", "Contact_added_to_category(1)", "", "Send_contact_an_emailmbs(1)"),
            (
                "Lead scoring",
                "field_is_updated(grade)",
                "field_is_condition_fieldvalue(grade,>,50)",
                "Add_contact_to_category(1)",
            ),
            ("Webinar follow-up", "Contact_added_to_category(5)", "", "Assign_contact_to_drip(1)"),
            (
                "Cold lead cleanup",
                "field_is_updated(dla)",
                "Is_in_category(6)",
                "Add_contact_to_category(8)",
            ),
        ]
        for i, (name, ev, cond, act) in enumerate(rules):
            d = SEED_EPOCH - (600 - i * 50) * DAY
            self.ins(
                6,
                name=name,
                events=ev,
                conditions=cond,
                actions=act,
                pause="1" if i == 4 else "0",
                last_action=SEED_EPOCH - i * DAY,
                drip_id="0",
                object_type_id=0,
                date=d,
                dlm=d + 10 * DAY,
            )
        msgs: list[tuple[str, str, str, dict[str, Any]]] = [
            (
                "Welcome Email",
                "e-mail",
                "Welcome to Sandbox Co!",
                {"message_body": "<p>Welcome aboard!</p>"},
            ),
            ("Monthly Newsletter", "Template", "What's new this month", {}),
            (
                "Appointment Reminder",
                "sms",
                "",
                {"plaintext": "Reminder: your appointment is tomorrow.", "send_to": "sms_number"},
            ),
            (
                "Follow-up Call",
                "Task",
                "Follow-up call",
                {
                    "task_data": "Call the contact and log the outcome.",
                    "due_date": "2",
                    "task_owner": "2",
                },
            ),
            (
                "Send Proposal",
                "Task",
                "Send a proposal",
                {
                    "task_data": "Prepare and send a proposal; record the lead type and best contact time.",
                    "due_date": "5",
                    "task_owner": "2",
                    "task_form": json.dumps(
                        [
                            {"field": "f1549", "alias": "Lead Type", "required": "1"},
                            {"field": "f1550", "alias": "Preferred Contact Time", "required": "1"},
                        ]
                    ),
                },
            ),
            (
                "Check-in",
                "Task",
                "Quarterly check-in",
                {"task_data": "Check in with the customer.", "due_date": "7", "task_owner": "3"},
            ),
            ("Invoice Reminder", "Template", "Your invoice is due", {}),
            ("Holiday Postcard", "Postcard", "Happy holidays", {}),
            ("Flash Sale", "Template", "48-hour flash sale", {}),
            ("SMS Promo", "sms", "", {"plaintext": "20% off today only!", "send_to": "sms_number"}),
        ]
        for i, (alias, mtype, subject, extra) in enumerate(msgs):
            d = SEED_EPOCH - (620 - i * 45) * DAY
            sent = self.rng.randint(100, 5000) if mtype in ("e-mail", "Template") else 0
            self.ins(
                7,
                alias=alias,
                name=alias,
                subject=subject or None,
                type=mtype,
                spam_score="0",
                mcsent=str(sent),
                mcopened=str(self.rng.randint(15, 60)) if sent else "0",
                mcclicked=str(self.rng.randint(1, 15)) if sent else "0",
                mcnotopened="0",
                mcnotclicked="0",
                mcunsub="0",
                mcabuse="0",
                object_type_id=0,
                owner="1",
                **{"from": "owner"},
                send_out_name="Sandbox Co",
                reply_to_email="hello@sandbox.example.com",
                transactional_email="1" if alias == "Invoice Reminder" else "0",
                last_save=d + DAY,
                last_auto=d + DAY,
                date=d,
                dlm=d + 20 * DAY,
                **extra,
            )
        for name in ("Reached", "Left Voicemail", "No Answer"):
            self.ins(66, name=name, item_id=4, date=SEED_EPOCH - 480 * DAY)
        for i, (name, price, _t) in enumerate(PRODUCTS):
            d = SEED_EPOCH - (720 - i * 30) * DAY
            self.ins(
                16,
                name=name,
                price=price,
                description=f"{name} from Sandbox Co.",
                sku=f"SKU-{1001 + i}",
                external_id=f"prod_{1001 + i}",
                product_group="0",
                taxable="1" if i % 2 == 0 else "0",
                deleted="0",
                total_income="0.00",
                total_purchases="0",
                owner="1",
                date=d,
                dlm=d + 15 * DAY,
            )
        self.ins(63, name="Sales Tax", rate="8.25", tax_shipping="0")
        self.ins(63, name="VAT", rate="20", tax_shipping="1")
        self.ins(63, name="City Tax", rate="1.5", tax_shipping="0")
        self.ins(64, name="Ground", price="6.50")
        self.ins(64, name="Express", price="15.00")
        self.ins(64, name="Overnight", price="29.00")
        self.ins(
            70,
            name="Sandbox Stripe",
            type="stripe",
            external_id="gw_stripe_sbx",
            status="1",
            date=SEED_EPOCH - 800 * DAY,
        )
        self.ins(
            70,
            name="Sandbox Authorize.net",
            type="authorizenet",
            external_id="gw_authnet_sbx",
            status="1",
            date=SEED_EPOCH - 700 * DAY,
        )
        self.ins(
            70,
            name="Legacy PayPal",
            type="paypal",
            external_id="gw_paypal_old",
            status="0",
            date=SEED_EPOCH - 900 * DAY,
        )
        offers = [
            ("Starter Kit Offer", [(1, 1, "single")]),
            ("Pro Membership Monthly", [(2, 1, "subscription")]),
            ("Coaching 3-Pay", [(3, 1, "payment_plan")]),
            ("Starter Bundle", [(1, 1, "single"), (4, 1, "single")]),
        ]
        for name, items in offers:
            offer, _ = cm.normalize_offer(
                self.s, {"products": [self.product_entry(*it) for it in items]}
            )
            self.ins(65, name=name, public="1", data=json.dumps(offer), referenced="0", owner="1")

    def product_entry(self, pid: int, qty: int, ptype: str) -> dict[str, Any]:
        price = PRODUCTS[pid - 1][1]
        count = 3 if ptype == "payment_plan" else 1
        unit_price = f"{float(price) / count:.2f}" if ptype == "payment_plan" else price
        return {
            "id": pid,
            "quantity": qty,
            "type": ptype,
            "tax": pid in (1, 5),
            "shipping": pid == 1,
            "price": [{"price": unit_price, "payment_count": count, "unit": "month"}],
        }

    # -------------------------------------------------------------- contacts
    def contacts(self) -> None:
        anchors: list[tuple[str, str, str, int, list[int], list[int], list[int]]] = [
            ("Ada", "Quill", "ada.quill@example.com", 0, [1, 2], [1], [2]),
            ("Ben", "Ortiz", "ben.ortiz@example.com", 1, [2], [2], [1]),
            ("Carla", "Diaz", "carla.diaz@example.com", 2, [3], [], [1]),
            ("Dev", "Shah", "shared@example.com", 3, [3, 4], [1], []),
            ("Eve", "Park", "shared@example.com", 4, [4], [], []),
            ("Finn", "Walsh", "finn.walsh@example.com", 5, [2, 5], [2], [2]),
        ]
        for i in range(1, self.n_contacts + 1):
            r = self.rng
            email: str | None
            if i <= len(anchors):
                fn, ln, email, place_i, tags, seqs, camps = anchors[i - 1]
                place = PLACES[place_i]
                date = SEED_EPOCH - (400 + i * 10) * DAY
                dlm = SEED_EPOCH - i * 3600
            else:
                fn, ln = r.choice(FIRST), r.choice(LAST)
                email = (
                    None
                    if r.random() < 0.03
                    else f"{fn}.{ln}.{i}@example.{r.choice(['com', 'net', 'org'])}".lower()
                )
                place = r.choice(PLACES)
                tags = sorted(r.sample(range(1, 9), r.choice([0, 0, 1, 1, 2, 3])))
                seqs = sorted(r.sample(range(1, 4), r.choice([0, 0, 1, 1, 2])))
                camps = sorted(r.sample(range(1, 6), r.choice([0, 1, 1, 2])))
                date = self.past()
                dlm = self.after(date)
            comp = r.choice(COMPANIES)
            interests = sorted(r.sample(["301", "302", "303", "304", "305"], r.randint(0, 3)))
            phone = f"+1{r.randint(200, 989)}{r.randint(2000000, 9999999)}"
            rid = self.ins(
                0,
                firstname=fn,
                lastname=ln,
                email=email,
                address=f"{r.randint(10, 9999)} {r.choice(STREETS)}",
                address2=None,
                city=place[0],
                state=place[1],
                zip=place[2],
                country="US",
                birthday=str(SEED_EPOCH - r.randint(20 * 365, 55 * 365) * DAY),
                priority=r.choice(["8", "9", "10"]),
                status=r.choice(["1", "2", "3", "4", "5", "6", "7"]),
                home_phone=None,
                sms_number=phone,
                office_phone=phone if r.random() < 0.5 else None,
                fax=None,
                company=comp,
                title=r.choice(TITLES),
                website=f"https://www.{comp.split()[0].lower()}.example.com",
                timezone="America/Los_Angeles",
                referral_page=None,
                aff_sales="0",
                aff_amount="0.00",
                program_id="0",
                fb_gender=None,
                mrcAmount="0.00",
                mrcUnpaid="0.00",
                mriInvoiceNum="0",
                mriInvoiceTotal="0.00",
                spent="0.00",
                grade=str(r.randint(0, 100)),
                unpaid_invoices="0",
                has_membership="0",
                owner=str(r.randint(1, 4)) if i > 6 else "1",
                date=date,
                dla=self.after(date),
                dlm=dlm,
                system_source="0",
                source_location=r.choice(["Web form", "Import", "API", "Landing page"]),
                import_id="0",
                ip_addy_display=f"203.0.113.{r.randint(1, 254)}",
                bulk_mail=r.choice(["0", "1", "1", "1", "2", "-2"]),
                bulk_sms=r.choice(["0", "1", "2"]),
                f1548=format_list(interests),
                f1549=r.choice(["311", "312", "313", "314"]),
                f1550=r.choice(["Morning", "Afternoon", "Evening", None]),
                f1551=r.choice(["0", "1"]),
                f1552=str(date + r.randint(0, 200) * DAY),
                f1553=None,
                f1554=money(r.randint(0, 5000)),
            )
            self.s.update(
                0,
                rid,
                {
                    "unique_id": self.uid(0, rid),
                    "contact_cat": self.tag(0, rid, tags, date),
                    "updateSequence": self.sequences(0, rid, seqs, date + DAY),
                    "updateCampaign": self.campaigns(0, rid, camps, date + DAY),
                },
            )

    def activity(self) -> None:
        r = self.rng
        n = self.n_contacts
        self.ins(
            12,
            contact_id=3,
            data="Asked about the quarterly renewal discount.",
            owner="2",
            object_type_id=0,
            date=SEED_EPOCH - 20 * DAY,
            dlm=SEED_EPOCH - 20 * DAY,
        )
        for _ in range(int(n * 0.4)):
            d = self.past()
            self.ins(
                12,
                contact_id=r.randint(1, n),
                data=r.choice(NOTES),
                owner=str(r.randint(1, 4)),
                object_type_id=0,
                date=d,
                dlm=self.after(d),
            )
        details = {
            "1": "Email sent",
            "2": "Email opened",
            "3": "Link clicked",
            "4": "SMS sent",
            "5": "Call logged",
            "6": "Task completed",
        }
        for _ in range(int(n * 0.75)):
            t = r.choice(list(details))
            self.ins(
                4,
                contact_id=r.randint(1, n),
                object_type_id=0,
                date=self.past(),
                type=t,
                item_id=str(r.choice([1, 2, 3, 7, 9, 10])),
                details=details[t],
                owner=str(r.randint(1, 4)),
            )
        for _ in range(int(n * 0.3)):
            c = r.randint(1, 5)
            self.ins(
                100,
                contact_id=r.randint(1, n),
                object_type_id=0,
                object_id=None,
                campaign_id=c,
                description=r.choice(
                    ["Sent email", "Waited 2 days", "Checked condition", "Added tag"]
                ),
                date=self.past(),
            )
        for i in range(5):
            d = SEED_EPOCH - (300 - i * 50) * DAY
            self.ins(
                23,
                message_id=[2, 7, 9, 2, 9][i],
                object_type_id=0,
                group_id=str([1, 2, 3, 1, 2][i]),
                send_date=d + 3 * DAY if i < 4 else SEED_EPOCH + 10 * DAY,
                status=["2", "2", "3", "2", "0"][i],
                recipients=str(r.randint(20, 150)),
                owner="1",
                date=d,
            )
        for i, (name, url) in enumerate(
            [
                ("Spring sale banner", "https://shop.example.com/spring"),
                ("Webinar replay", "https://video.example.com/replay"),
                ("Free guide", "https://www.example.com/guide"),
                ("Coaching application", "https://www.example.com/apply"),
                ("Instagram bio", "https://www.example.com/links"),
            ]
        ):
            clicks = r.randint(50, 2000)
            self.ins(
                80,
                name=name,
                url=url,
                clicks=str(clicks),
                unique_clicks=str(clicks // 2),
                date=SEED_EPOCH - (500 - i * 80) * DAY,
            )

    def tasks(self) -> None:
        r = self.rng
        n = self.n_contacts
        anchors = [
            (4, 1, "2", "0"),
            (5, 1, "2", "0"),
            (4, 2, "2", "1"),
            (6, 3, "3", "2"),
            (6, 2, "3", "0"),
            (4, 3, "2", "0"),
        ]
        subjects = {4: "Follow-up call", 5: "Send a proposal", 6: "Quarterly check-in"}
        total = len(anchors) + max(n // 7, 8)
        for i in range(total):
            if i < len(anchors):
                mid, cid, owner, status = anchors[i]
                assigned = SEED_EPOCH - (10 + i) * DAY
            else:
                mid, cid, owner = r.choice([4, 5, 6]), r.randint(1, n), str(r.randint(1, 4))
                status = r.choice(["0", "0", "0", "1", "1", "2"])
                assigned = self.past(365)
            complete = assigned + r.randint(1, 5) * DAY if status == "1" else 0
            outcome = "0"
            if status == "1" and mid == 4:
                outcome = "1" if i == 2 else str(r.randint(1, 3))
            self.ins(
                1,
                owner=owner,
                contact_id=cid,
                subject=subjects[mid],
                details="Seeded task",
                status=status,
                type="0",
                date_assigned=assigned,
                date_due=assigned + (2 + i % 5) * DAY,
                date_complete=complete,
                call_outcome_id=outcome,
                item_id=mid,
                drip_id="0",
                step_num="0",
                hidden="0",
                object_type_id=0,
                object_name="Contacts",
            )

    def cards(self) -> None:
        r = self.rng
        anchors = [
            (1, "1", "4242", 12, 2030, "3", "0"),
            (2, "1", "0002", 11, 2029, "3", "1"),
            (1, "2", "4444", 8, 2031, "1", "0"),
            (6, "3", "0005", 3, 2030, "3", "0"),
            (7, "1", "1881", 1, 2024, "4", "0"),
            (8, "4", "1117", 6, 2031, "3", "1"),
        ]
        rows = list(anchors)
        for cid in range(9, self.n_contacts + 1):
            if r.random() < 0.25:
                rows.append(
                    (
                        cid,
                        r.choice(["1", "1", "2", "3", "4"]),
                        f"{r.randint(0, 9999):04d}",
                        r.randint(1, 12),
                        r.randint(2026, 2032),
                        "3",
                        "1" if r.random() < 0.05 else "0",
                    )
                )
        for cid, ctype, last4, month, year, status, decline in rows:
            contact = self.s.get(0, cid) or {}
            self.ins(
                45,
                contact_id=cid,
                firstname=contact.get("firstname"),
                lastname=contact.get("lastname"),
                last4=last4,
                type=ctype,
                exp_month=str(month),
                exp_year=str(year),
                address=contact.get("address"),
                address2=None,
                city=contact.get("city"),
                state=contact.get("state"),
                zip=contact.get("zip"),
                country="US",
                status=status,
                recent_sale="0",
                invoice_id="0",
                decline=decline,
            )
            if status in ("3", "4"):
                self.s.update(
                    0,
                    cid,
                    {
                        "ccNumber": last4,
                        "ccType": ctype,
                        "ccExpirationMonth": str(month),
                        "ccExpirationYear": str(year),
                    },
                )

    # -------------------------------------------------------------- commerce
    def default_card(self, cid: int) -> dict[str, Any] | None:
        rows = self.s.select(
            45, "CAST(contact_id AS INTEGER)=? AND status IN ('3','4')", [cid], limit=1
        )
        return rows[0] if rows else None

    def invoice(
        self,
        cid: int,
        items: list[tuple[int, int, str]],
        status: str,
        date: int,
        taxes: bool = False,
        shipping: bool = False,
    ) -> int:
        raw: dict[str, Any] = {"products": [self.product_entry(*it) for it in items]}
        if taxes:
            raw["taxes"] = [{"id": 1, "rate": 8.25, "name": "Sales Tax", "taxShipping": False}]
        if shipping:
            raw["shipping"] = [{"id": 1, "name": "Ground", "price": 6.50}]
        offer, totals = cm.normalize_offer(self.s, raw)
        contact = self.s.get(0, cid) or {"id": str(cid)}
        card = self.default_card(cid)
        gateway = 0 if status == cm.DRAFT else 1
        extra: dict[str, Any] = {}
        if status in (cm.UNPAID, cm.DRAFT, cm.COLLECTIONS, cm.DECLINED):
            extra["due_date"] = date + 14 * DAY
        if status in (cm.DECLINED, cm.COLLECTIONS):
            extra.update(
                {
                    "recharge": "1",
                    "recharge_attempts": str(self.rng.randint(1, 3)),
                    "last_recharge_date": date + 3 * DAY,
                }
            )
        iid = cm.create_invoice(
            self.s,
            contact,
            offer,
            totals,
            status,
            gateway_id=gateway,
            cc_id=card["id"] if card else 0,
            date=date,
            template=1,
            extra=extra,
            dlm=date + self.rng.randint(0, 5) * DAY,
        )
        inv = self.s.get(46, iid) or {}
        if status in (cm.PAID, cm.REFUNDED, cm.PARTIAL):
            pay_status = "3" if status == cm.REFUNDED else "1"
            cm.record_payment(
                self.s,
                inv,
                totals.total,
                gateway_id=gateway,
                cc_id=card["id"] if card else 0,
                external_txn=f"sbx_seed_{iid:05d}",
                date=date,
                status=pay_status,
            )
        if status in (cm.PAID, cm.DECLINED):
            cm.create_orders(
                self.s,
                iid,
                contact,
                offer,
                cc_id=card["id"] if card else 0,
                gateway_id=gateway,
                past_due=status == cm.DECLINED,
                date=date,
            )
        for p in self.s.select(17, "CAST(invoice_id AS INTEGER)=?", [iid]):
            self.ins(
                30,
                purchase_id=p["id"],
                contact_id=cid,
                invoice_id=iid,
                product_id=p["product_id"],
                status=p["status"],
                amount=p["total_price"],
                description=f"Purchase of {p['name']}",
                date=date,
            )
        return iid

    def invoices(self) -> None:
        r = self.rng
        anchor_rows = [
            (1, [(1, 1, "single")], cm.PAID, True, True),
            (1, [(5, 1, "single")], cm.UNPAID, False, False),
            (1, [(4, 1, "single")], cm.REFUNDED, False, False),
            (6, [(7, 2, "single")], cm.PARTIAL, False, False),
            (3, [(5, 1, "single")], cm.VOIDED, False, False),
            (2, [(1, 1, "single")], cm.DECLINED, False, False),
            (3, [(4, 1, "single")], cm.WRITTEN_OFF, False, False),
            (6, [(8, 1, "single")], cm.PENDING, False, False),
            (2, [(5, 1, "single")], cm.COLLECTIONS, False, False),
            (1, [(7, 1, "single")], cm.DRAFT, False, False),
        ]
        for i, (cid, items, status, taxes, ship) in enumerate(anchor_rows):
            self.invoice(cid, items, status, SEED_EPOCH - (60 - i) * DAY, taxes, ship)
        self.invoice(1, [(2, 1, "subscription")], cm.PAID, SEED_EPOCH - 20 * DAY)  # order 1
        self.invoice(6, [(3, 1, "payment_plan")], cm.PAID, SEED_EPOCH - 40 * DAY)  # order 2
        self.invoice(
            2, [(6, 1, "subscription")], cm.DECLINED, SEED_EPOCH - 35 * DAY
        )  # order 3, past due
        weights = [
            (cm.PAID, 55),
            (cm.UNPAID, 10),
            (cm.REFUNDED, 5),
            (cm.DECLINED, 7),
            (cm.VOIDED, 3),
            (cm.WRITTEN_OFF, 3),
            (cm.PENDING, 3),
            (cm.COLLECTIONS, 4),
            (cm.PARTIAL, 3),
            (cm.DRAFT, 4),
        ]
        statuses = [s for s, w in weights for _ in range(w)]
        for _ in range(max(self.n_contacts // 4, 10)):
            cid = r.randint(1, self.n_contacts)
            pid = r.choice([1, 1, 2, 4, 5, 5, 6, 7, 8])
            ptype = PRODUCTS[pid - 1][2]
            status = r.choice(statuses)
            if ptype != "single" and status not in (cm.PAID, cm.DECLINED):
                ptype, pid = "single", 4
            self.invoice(
                cid,
                [(pid, r.randint(1, 2) if ptype == "single" else 1, ptype)],
                status,
                self.past(700, 1),
                taxes=r.random() < 0.3,
                shipping=pid == 1 and r.random() < 0.5,
            )
        for cid in range(1, self.n_contacts + 1):
            cm.refresh_contact(self.s, cid)
        for pid in range(1, len(PRODUCTS) + 1):
            income = (
                self.s.scalar(
                    "SELECT COALESCE(SUM(CAST(total_price AS REAL)),0) FROM o_17 WHERE "
                    "CAST(product_id AS INTEGER)=? AND status='1'",
                    [pid],
                )
                or 0
            )
            count = self.s.count(17, "CAST(product_id AS INTEGER)=? AND status='1'", [pid])
            self.s.update(16, pid, {"total_income": money(income), "total_purchases": count})
        for cid in (1, 6):
            self.s.update(0, cid, {"has_membership": "1"})

    def partners(self) -> None:
        r = self.rng
        n = self.n_contacts
        for i in range(6):
            cid = (9 + i) % n + 1
            self.ins(
                36,
                contact_id=cid,
                program_id=str(1 + i % 2),
                parent_id="0" if i < 3 else str(i - 2),
                sales=str(r.randint(0, 20)),
                amount=money(r.randint(0, 3000)),
                date=self.past(600),
            )
            self.s.update(0, cid, {"program_id": str(1 + i % 2)})
        for _ in range(10):
            self.ins(
                37,
                partner_id=str(r.randint(1, 6)),
                contact_id=r.randint(min(20, n), n),
                type=r.choice(["0", "1"]),
                date=self.past(500),
            )
        purchases = self.s.select_ids(17, "status='1'")
        for i in range(min(10, len(purchases))):
            p = self.s.get(17, purchases[i]) or {}
            self.ins(
                38,
                partner_id=str(1 + i % 6),
                purchase_id=p.get("id"),
                contact_id=p.get("contact_id"),
                level=str(1 + i % 2),
                amount=money(float(p.get("total_price") or 0) * 0.2),
                status=r.choice(["0", "1", "2", "3"]),
                date=p.get("date"),
            )

    def pages_and_groups(self) -> None:
        r = self.rng
        pages = [
            "Spring Sale",
            "Webinar Signup",
            "Free Guide Download",
            "Coaching Application",
            "Thank You",
        ]
        for i, name in enumerate(pages):
            d = SEED_EPOCH - (550 - i * 90) * DAY
            visits = r.randint(200, 5000)
            self.ins(
                20,
                name=name,
                domain=f"http://{self.cfg.hosted_domain}/{1001 + i}",
                uri_id=str(1001 + i),
                design_type=r.choice(["0", "3", "3"]),
                ssl_enabled="1",
                lpsent=str(visits),
                unique_lpsent=str(visits // 2),
                lpconvert=str(visits // 10),
                unique_lpconvert=str(visits // 20),
                last_save=d + 5 * DAY,
                last_auto=d + 5 * DAY,
                date=d,
                dlm=d + 30 * DAY,
            )

        def clause(field: str, op: str, value: Any) -> dict[str, Any]:
            if isinstance(value, list):
                return {
                    "field": {"field": field},
                    "op": op,
                    "value": {"list": [{"value": v} for v in value]},
                }
            return {"field": {"field": field}, "op": op, "value": {"value": value}}

        groups = [
            ("California contacts", 0, [clause("state", "=", "CA")]),
            ("VIP customers", 0, [clause("contact_cat", "CONTAINS", 1)]),
            ("High spenders", 0, [clause("spent", ">", 100)]),
            ("Enrolled students", 10000, [clause("f1602", "=", "602")]),
            ("Open deals", 149, [clause("sales_stage", "IN", ["401", "402", "403"])]),
        ]
        for i, (name, otype, cond) in enumerate(groups):
            d = SEED_EPOCH - (400 - i * 60) * DAY
            self.ins(
                3,
                name=name,
                object_type_id=otype,
                owner="1",
                public="1",
                date=d,
                dlm=d + 7 * DAY,
                condition=json.dumps(cond),
            )
        for i, name in enumerate(
            ["Customer satisfaction", "Workshop feedback", "Product interest"]
        ):
            d = SEED_EPOCH - (300 - i * 80) * DAY
            self.ins(
                172,
                name=name,
                responses=str(r.randint(5, 300)),
                owner="1",
                date=d,
                dlm=d + 20 * DAY,
            )

    def crm_objects(self) -> None:
        r = self.rng
        n = self.n_contacts
        industries = ["501", "502", "503", "504", "505"]
        for i, name in enumerate(COMPANIES[:8]):
            d = self.past(700, 100)
            place = PLACES[i % len(PLACES)]
            rid = self.ins(
                150,
                name=name,
                phone=f"+1555{r.randint(1000000, 9999999)}",
                industry=r.choice(industries),
                description=f"{name} is a long-time customer.",
                annual_revenue=money(r.randint(1, 90) * 10000),
                employee_count=str(r.randint(2, 400)),
                facebook_page=None,
                instagram_name=None,
                address=f"{r.randint(10, 999)} {r.choice(STREETS)}",
                city=place[0],
                state=place[1],
                zipcode=place[2],
                country="US",
                owner=str(r.randint(1, 4)),
                date=d,
                dla=self.after(d),
                dlm=self.after(d),
                system_source="0",
                source_location="App",
                import_id="0",
                ip_addy_display=None,
            )
            tags = [12] if i < 3 else []
            self.s.update(
                150,
                rid,
                {"unique_id": self.uid(150, rid), "contact_cat": self.tag(150, rid, tags, d)},
            )
        stages = ["401", "402", "403", "404", "405"]
        for i in range(12):
            d = self.past(500, 10)
            value = r.randint(5, 200) * 100
            pct = r.choice([10, 25, 50, 75, 90])
            contact = r.randint(1, n)
            company = r.randint(1, 8)
            rid = self.ins(
                149,
                name=f"{r.choice(['Website', 'Coaching', 'Annual', 'Team'])} deal #{i + 1}",
                value=money(value),
                sales_stage=stages[i % 5],
                expected_win_percent=str(pct),
                weighted_value=money(value * pct / 100),
                expected_close_date=str(SEED_EPOCH + r.randint(5, 90) * DAY),
                actual_close_date="0",
                primary_contact=contact,
                company=company,
                owner=str(r.randint(1, 4)),
                date=d,
                dla=self.after(d),
                dlm=self.after(d),
                system_source="0",
                source_location="App",
                import_id="0",
                ip_addy_display=None,
            )
            tags = [13] if i % 4 == 0 else []
            self.s.update(
                149,
                rid,
                {"unique_id": self.uid(149, rid), "contact_cat": self.tag(149, rid, tags, d)},
            )
            self.relate(0, contact, 149, rid, "primary_contact", d)
            self.relate(150, company, 149, rid, "company", d)

    def custom_objects(self) -> None:
        r = self.rng
        n = self.n_contacts
        # 10002 Vehicles first so contacts can point at them (Contact.f1612)
        makes = {
            "641": ["F-150", "Escape"],
            "642": ["Camry", "RAV4"],
            "643": ["Civic", "CR-V"],
            "644": ["Outback", "Forester"],
            "645": ["Model X"],
        }
        for i in range(12):
            d = self.past(600)
            make = r.choice(list(makes))
            owner_contact = 1 if i == 0 else r.randint(1, n)
            vin = hashlib.sha1(f"vin:{self.cfg.seed}:{i}".encode()).hexdigest()[:17].upper()
            rid = self.ins(
                10002,
                f1640=vin,
                f1641=make,
                f1642=r.choice(makes[make]),
                f1643=str(r.randint(2012, 2026)),
                f1644=format_list(sorted(r.sample(["651", "652", "653", "654"], r.randint(0, 2)))),
                f1645=owner_contact,
                f1646=str(d + r.randint(10, 300) * DAY),
                f1647=str(r.randint(1000, 150000)),
                owner="1",
                date=d,
                dla=self.after(d),
                dlm=self.after(d),
                system_source="0",
                source_location="App",
                import_id="0",
                ip_addy_display=None,
                bulk_mail="0",
                bulk_sms="0",
            )
            self.s.update(
                10002,
                rid,
                {
                    "unique_id": self.uid(10002, rid),
                    "contact_cat": self.tag(10002, rid, [11] if i % 3 == 0 else [], d),
                },
            )
            self.relate(0, owner_contact, 10002, rid, "f1645", d)
            self.s.update(0, owner_contact, {"f1612": rid})
            self.relate(10002, rid, 0, owner_contact, "f1612", d)
        courses = ["611", "612", "613", "614", "615"]
        for i in range(15):
            d = self.past(600)
            fn, ln = r.choice(FIRST), r.choice(LAST)
            parent = r.randint(1, n)
            rid = self.ins(
                10000,
                f1601=f"{fn} {ln}",
                f1607=f"{fn}.{ln}.student{i + 1}@example.edu".lower(),
                f1602=r.choice(["601", "602", "602", "603", "604"]),
                f1603=format_list(sorted(r.sample(courses, r.randint(1, 3)))),
                f1604=str(d),
                f1605=money(r.randint(0, 40) * 50),
                f1606=parent,
                owner=str(r.randint(1, 4)),
                date=d,
                dla=self.after(d),
                dlm=self.after(d),
                system_source="0",
                source_location="Import",
                import_id="0",
                ip_addy_display=None,
                bulk_mail="1",
                bulk_sms="0",
            )
            self.s.update(
                10000,
                rid,
                {
                    "unique_id": self.uid(10000, rid),
                    "contact_cat": self.tag(10000, rid, [9] if i % 4 == 0 else [], d),
                    "updateSequence": self.sequences(10000, rid, [4] if i % 3 == 0 else [], d),
                },
            )
            self.relate(0, parent, 10000, rid, "f1606", d)
        for i in range(10):
            d = self.past(400)
            agent = r.randint(1, n)
            rid = self.ins(
                10001,
                f1620=f"{r.choice(['Sunny', 'Spacious', 'Cozy', 'Modern'])} "
                f"{r.choice(['bungalow', 'condo', 'townhome', 'farmhouse'])} #{i + 1}",
                f1621=f"{r.randint(10, 999)} {r.choice(STREETS)}",
                f1622=r.choice(["621", "622", "623", "624", "625"]),
                f1623=format_list(
                    sorted(r.sample(["631", "632", "633", "634", "635"], r.randint(0, 3)))
                ),
                f1624=money(r.randint(150, 1500) * 1000),
                f1625=str(r.randint(1, 6)),
                f1626=agent,
                f1627=str(d),
                owner="1",
                date=d,
                dla=self.after(d),
                dlm=self.after(d),
                system_source="0",
                source_location="App",
                import_id="0",
                ip_addy_display=None,
                bulk_mail="0",
                bulk_sms="0",
            )
            self.s.update(
                10001,
                rid,
                {
                    "unique_id": self.uid(10001, rid),
                    "contact_cat": self.tag(10001, rid, [10] if i % 2 == 0 else [], d),
                },
            )
            self.relate(0, agent, 10001, rid, "f1626", d)
        first_synthetic = first_synthetic_type_id()
        for tid, ti in self.s.types.items():
            if tid < first_synthetic:
                continue
            names = [n_ for n_ in ti.fields if n_.startswith("f")]
            index = tid - first_synthetic
            base_date = SEED_EPOCH - (400 - min(index, 390)) * DAY
            for j in range(2):
                d = base_date + j * DAY
                vals = {
                    names[0]: f"{ti.name} {j + 1}",
                    names[1]: sorted(ti.fields[names[1]].options or {"": ""})[j % 2],
                    names[2]: money(r.randint(10, 500)),
                    names[3]: str(r.randint(1, n)),
                    "owner": "1",
                    "date": d,
                    "dla": d,
                    "dlm": d + index * 60 + j,
                }
                rid = self.s.insert(tid, vals)
                self.s.update(tid, rid, {"unique_id": self.uid(tid, rid)})

    def counters(self) -> None:
        for sq in self.s.select_ids(5):
            self.s.update(
                5, sq, {"subscribers": self.s.count(8, "CAST(drip_id AS INTEGER)=?", [sq])}
            )
        for c in self.s.select_ids(140):
            like = f"%*/*{c}*/*%"
            subs = sum(
                self.s.count(tid, "updateCampaign LIKE ?", [like])
                for tid, ti in self.s.types.items()
                if "updateCampaign" in ti.fields
            )
            self.s.update(140, c, {"subs": subs, "subs_ever": subs + self.rng.randint(0, 40)})


def seed(store: Store, config: SandboxConfig) -> None:
    Seeder(store, config).run()
