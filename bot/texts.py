"""Every piece of user-facing text, in Simplified Chinese, kept in one place."""

from __future__ import annotations

from bot.domain import Rating, Solved, Status

STATUS_NAMES: dict[str, str] = {
    Status.NEW: "待受理",
    Status.DISPATCHING: "待派单",
    Status.EXTENDING: "延期审批中",
    Status.ACCEPTED: "已受理",
    Status.RESOLVED: "已办结（待评价）",
    Status.REOPENED: "重办中",
    Status.RETURNED: "已退回",
    Status.CANCELLED: "已撤销",
    Status.CLOSED: "已办结",
}

RATING_NAMES: dict[str, str] = {
    Rating.SATISFIED: "满意",
    Rating.BASIC: "基本满意",
    Rating.DISSATISFIED: "不满意",
    Rating.UNRATED: "未评价",
}

BUTTON_ACCEPT = "受理"
BUTTON_RESOLVE = "办结"
BUTTON_RETURN = "退回"

GREETING = (
    "您好，这里是「回音」接诉即办服务，件件有回音。\n\n"
    "有什么问题，直接把情况发给我就行，例如：\n"
    "“幸福小区3栋楼道的灯坏了一个星期了”\n\n"
    "我会立即登记并告诉您工单编号，处理的每一步都会在这里通知您。\n"
    "可以在文字之后补发照片或位置。\n\n"
    "常用命令：\n"
    "/my 我的最近工单\n"
    "/status 编号 查看进度\n"
    "/cancel 编号 撤销尚未受理的工单\n"
    "/help 使用帮助"
)

HELP = GREETING

HOW_TO_REPORT = (
    "您好！如需反映问题，请直接用文字描述：什么地方、出了什么问题，例如：\n"
    "“幸福小区3栋楼道的灯坏了”。\n发送 /help 查看更多用法。"
)

UNREADABLE = "抱歉，这条消息无法识别。请用文字描述您要反映的问题，发送 /help 查看用法。"
TOO_LONG = "消息过长，已按前 {limit} 字登记。"

REPORT_ACK = (
    "已收到您的反映，工单编号：{number}\n"
    "分类：{category}\n"
    "{location_line}"
    "{urgent_line}"
    "承诺办结时限：{deadline}\n\n"
    "处理进展会在这里通知您。查看进度：/status {number}"
)
URGENT_LINE = "紧急程度：紧急（{words}），将优先处理\n"

ATTACHED_PHOTO = "照片已补充到工单 {number}。"
ATTACHED_LOCATION = "位置已补充到工单 {number}。"
NOTHING_TO_ATTACH = "请先用文字描述问题，再在 10 分钟内补发照片或位置。"

STATUS_USAGE = "用法：/status 工单编号，例如 /status 20261123-0001"
CANCEL_USAGE = "用法：/cancel 工单编号，例如 /cancel 20261123-0001"
NOT_FOUND = "未找到工单 {number}。请检查编号，或发送 /my 查看您的工单。"
STATUS_LINE = (
    "工单 {number}\n状态：{status}\n分类：{category}\n"
    "登记时间：{created}\n承诺办结时限：{deadline}"
)
STATUS_NOTE = "\n办理结果：{note}"
STATUS_RETURN = "\n退回原因：{reason}"
MY_EMPTY = "您还没有提交过工单。直接发送文字描述即可反映问题。"
MY_HEADER = "您最近的工单："
MY_LINE = "{number}｜{status}｜{category}"
CANCELLED = "工单 {number} 已撤销。"
CANNOT_CANCEL = "工单 {number} 当前状态为「{status}」，只能撤销尚未受理的工单。"

NOTIFY_ACCEPTED = "您反映的问题（工单 {number}）已受理，正在办理。承诺办结时限：{deadline}"
NOTIFY_RESOLVED = (
    "您反映的问题（工单 {number}）已办结。\n办理结果：{note}\n\n"
    "请花几秒钟完成回访（共 3 题，点按钮作答）："
)
NOTIFY_RETURNED = (
    "您反映的问题（工单 {number}）已退回。\n原因：{reason}\n如有疑问，可重新描述后再次提交。"
)
NOTIFY_REOPENED = "工单 {number} 已重新交办（重办），我们会尽快处理，结果将再次通知您。"
RATE_THANKS = "感谢您的评价（{rating}），工单 {number} 已办结。"
RATE_ASK_REASON = (
    "很抱歉办理结果未能让您满意。工单 {number} 已重新交办。\n"
    "请直接回复不满意的原因，我们会转给办理人员："
)
RATE_REASON_THANKS = "已将您的意见转给办理人员（工单 {number}）。"

CARD = (
    "{flag}【工单 {number}】{status}\n"
    "分类：{category}\n"
    "{urgent_line}"
    "反映人：{reporter}\n"
    "{location_line}"
    "内容：{text}\n"
    "受理时限：{accept_by}\n"
    "办结时限：{deadline}"
    "{extra}"
)
CARD_URGENT_FLAG = "🔴"
CARD_REOPEN_FLAG = "🔁重办 "
CARD_URGENT_LINE = "紧急：{words}\n"
CARD_LOCATION_LINE = "地点：{location}\n"
CARD_RESOLVED = "\n办理结果：{note}"
CARD_RETURNED = "\n退回原因：{reason}"
CARD_REOPEN_REASON = "\n不满意原因：{reason}"
CARD_RATED = "\n评价：{rating}"
CARD_HANDLER = "\n经办：{name}"
CARD_UNREACHABLE = "\n⚠️ 无法私信通知反映人（未开启或已屏蔽机器人）"
CARD_ATTACHMENT = "\n附件：{count} 项"
CARD_VOICES = "\n反映人数：{count} 人（同一问题已合并）"
CARD_TRUNCATED = "…（全文 {length} 字，见 /ticket）"

ASK_RESOLVE_NOTE = "请回复工单 {number} 的办理结果（将转告反映人）："
ASK_RETURN_REASON = "请回复退回工单 {number} 的原因（将转告反映人）："
STAFF_DONE_RESOLVE = "工单 {number} 已办结，结果已转告反映人。"
STAFF_DONE_RETURN = "工单 {number} 已退回，原因已转告反映人。"
STAFF_REOPEN_REASON = "工单 {number} 反映人的不满意原因：{reason}"
EMPTY_NOTE = "内容不能为空，请重新回复。"

ALERT_NOT_STAFF = "只有登记的工作人员可以操作工单。"
ALERT_NOT_REPORTER = "只有反映人本人可以评价此工单。"
ALERT_INVALID = "按钮无效或已过期。"
ALERT_STALE_RATING = "该评价已过期：工单已有新的办理结果。"
ALERT_ALREADY_RATED = "您已经评价过本次办理结果。"
ALERT_ILLEGAL = "工单 {number} 当前状态为「{status}」，不能{action}。"
ALERT_ACCEPTED = "已受理工单 {number}。"
ALERT_ASKED = "请在群内回复{what}。"
ALERT_RATED = "感谢评价！"

ACTION_NAMES: dict[str, str] = {
    "accept": "受理",
    "resolve": "办结",
    "return": "退回",
    "cancel": "撤销",
    "rate_ok": "评价",
    "rate_reopen": "评价",
    "assign": "派单",
    "transfer": "转派",
    "send_back": "退单",
    "assist": "协办",
    "extend": "申请延期",
    "extend_ok": "批准延期",
    "extend_no": "驳回延期",
    "escalate": "提级",
    "autoclose": "自动结单",
    "recategorize": "更正分类",
    "reroute": "按分类改派",
    "reroute_dispatch": "按分类退回派单",
    "not_report": "标记为非诉求",
}

ADMIN_ONLY = "只有管理员可以执行此命令。"
GROUP_ONLY = "请在群组中执行此命令。"
STAFF_CHAT_BOUND = "本群已设为工作人员群，新工单将推送到这里。"
ADD_STAFF_USAGE = "用法：回复某人的消息并发送 /add_staff，将其登记为工作人员。"
STAFF_ADDED = "已将 {name} 登记为工作人员。"
NO_STAFF_CHAT_WARNING = "（尚未绑定工作人员群：管理员请在工作群内发送 /bind_staff）"
PRIVATE_ONLY = "请私信机器人使用此命令。"

REPORTER_HIDDEN = "{name}（ID {masked_id}）"

# Grid groups and grid workers
GRID_BOUND = "本群已设为网格群「{name}」。群内反映的问题会自动登记为工单，进展私信告知反映人。"
BIND_GRID_USAGE = "用法：/bind_grid 网格名称，例如 /bind_grid 幸福社区第三网格"
ADD_WORKER_USAGE = "用法：在网格群内回复某人的消息并发送 /add_worker，将其登记为本网格网格员。"
WORKER_ADDED = "已将 {name} 登记为「{grid}」网格员。"
NOT_A_GRID = "本群还不是网格群：管理员请先发送 /bind_grid 网格名称。"
GROUP_ACK = "已登记为工单 {number}，进展将私信告知。"
GROUP_ACK_LINK = "已登记为工单 {number}。请点此开启私信接收办理进展：{link}"
GROUP_ASK = "这条消息是要反映问题吗？确认后将登记为工单。"
BUTTON_SUBMIT = "提交为诉求"
BUTTON_NOT = "不是"
ALERT_PROMPT_NOT_YOURS = "只有发言人本人或本网格网格员可以确认。"
ALERT_PROMPT_GONE = "该询问已处理或已过期。"
ALERT_SUBMITTED = "已提交。"
ALERT_DISMISSED = "好的，不登记。"
REPORT_USAGE = "用法：回复居民的消息并发送 /report（或“上报”），为其登记工单。"
ONLY_WORKERS = "只有本网格的网格员可以代为上报。"
WORKER_ACK = "已为 {name} 登记工单 {number}（{category}），办理进展会同时告知您。"
WORKER_ACK_HIDDEN = (
    "已登记工单 {number}（{category}）。原发言人「{name}」未公开账号，您将作为联系人接收办理进展。"
)
FORWARD_NOT_WORKER = (
    "转发的消息只有登记的网格员可以代为上报。如需反映自己的问题，请直接用文字描述。"
)
FORWARD_NOT_REPORT = (
    "未从转发的消息中识别出需要办理的问题。如确需上报，请在网格群内回复该消息并发送 /report。"
)
WORKER_COPY = "【您代为上报的工单】{text}"
BLOCKED_USER = "已禁止该用户提交工单。"
BLOCK_USAGE = "用法：回复某人的消息并发送 /block，禁止其提交工单。"
SUBSCRIBED = "已开启工单 {number} 的私信通知。"
GROUP_MERGED = "该问题已在处理中（工单 {number}），已记下您的反映，进展将私信告知。"
GROUP_MERGED_LINK = (
    "该问题已在处理中（工单 {number}），已记下您的反映。请点此开启私信接收办理进展：{link}"
)
MERGED_ACK = "您反映的问题与工单 {number} 相同，已合并办理。承诺办结时限：{deadline}"
SPLIT_USAGE = "用法：回复被合并的那条居民消息并发送 /split，将其拆分为单独的工单。"
SPLIT_NOT_MERGED = "这条消息没有被合并到其他工单。"
SPLIT_DONE = "已拆分为单独的工单 {number}。"
TOO_MANY_REPORTS = "您提交得太频繁了，请稍后再试。已提交的问题正在办理中，可发送 /my 查看。"

# Dispatch (派单), department actions and supervision (催办、督办)
BUTTON_NAMES: dict[str, str] = {
    "accept": "受理",
    "resolve": "办结",
    "return": "退回",
    "send_back": "退单",
    "assign": "派单",
    "transfer": "转派",
    "assist": "协办",
    "extend": "申请延期",
    "escalate": "提级",
    "extend_ok": "同意延期",
    "extend_no": "不同意",
    "recategorize": "改分类",
    "not_report": "非诉求",
}
EVENT_NAMES: dict[str, str] = {
    **ACTION_NAMES,
    "report": "登记",
    "rate_ok": "评价",
    "rate_reopen": "不满意，重办",
    "reopen_reason": "不满意原因",
    "remind": "催办",
    "overdue": "超期督办",
    "rate_remind": "评价提醒",
    "undeliverable": "无法送达",
    "attach": "补充材料",
    "merge": "合并反映",
    "supplement": "补充",
    "confidential": "反映人要求保密",
    "confidential_off": "反映人取消保密",
    "attach_photo": "补充照片",
    "attach_location": "补充位置",
    "reveal_contact": "查看反映人联系方式",
}
CARD_DEPARTMENT = "\n承办：{name}"
CARD_UNASSIGNED = "\n承办：待总平台派单"
CARD_ASSISTS = "\n协办：{names}"
CARD_EXTENSION = "\n延期申请：至 {to}（待审批）"
CARD_OVERDUE = "\n⚠️ 已超期（{at} 起督办）"
CARD_OVERDUE_FLAG = "⚠️超期 "

DEPT_CHAT_BOUND = "本群已设为「{name}」（{level}）工作群，派给本部门的工单将推送到这里。"
UNKNOWN_DEPARTMENT = "未找到部门「{name}」，请检查名称（部门及别名见部门数据文件）。"
STAFF_ADDED_DEPT = "已将 {name} 登记为工作人员（{department}）。"
ALERT_NOT_YOUR_DEPARTMENT = "工单 {number} 不由您所在的部门承办，不能{action}。"

ASK_ASSIGN = "请回复工单 {number} 派往的部门名称（如：区城管委）："
ASK_TRANSFER = "请回复：转派部门 原因（如：区住建委 属于房屋质量问题）。工单 {number}："
ASK_SEND_BACK = "请回复将工单 {number} 退回总平台的原因（退单）："
ASK_ASSIST = "请回复工单 {number} 的协办部门（多个用空格或顿号分隔）："
ASK_EXTEND = (
    "请回复：延期至日期 原因（如：2026-12-20 需协调施工队）。"
    "工单 {number} 当前时限 {deadline}，最晚可延至 {latest}："
)
ASK_ESCALATE = "请回复工单 {number} 提级至{parent}的原因："
NEED_REASON = "请在部门名称后写明原因，例如：区住建委 属于房屋质量问题。"
SAME_DEPARTMENT = "工单 {number} 已由{name}承办。"
BAD_DATE = "无法识别日期「{text}」，请写成 2026-12-20 这样的格式，并写明原因。"
DATE_NOT_LATER = "延期日期须晚于当前时限 {deadline}。"
DATE_TOO_LATE = "延期最多至 {latest}（原时限后按政策顺延的上限）。"
NO_PARENT = "{name}已是最高层级，不能再提级。"

STAFF_DONE_ASSIGN = "工单 {number} 已派往{name}。"
STAFF_DONE_TRANSFER = "工单 {number} 已转派至{name}。"
STAFF_DONE_SEND_BACK = "工单 {number} 已退回总平台重新派单。"
STAFF_DONE_ASSIST = "已请{names}协办工单 {number}。"
STAFF_DONE_EXTEND = "工单 {number} 的延期申请（至 {to}）已提交总平台审批。"
STAFF_DONE_ESCALATE = "工单 {number} 已提级至{name}。"

NOTICE_TRANSFERRED = "工单 {number} 由{source}转派至本部门。原因：{reason}"
NOTICE_SENT_BACK = "工单 {number} 被{source}退回总平台（退单）。原因：{reason}\n请重新派单。"
NOTICE_ASSIST = "{lead}请本部门协办工单 {number}，牵头部门仍为{lead}。"
NOTICE_ESCALATED = "工单 {number} 由{source}提级至本部门。原因：{reason}"
EXTENSION_REQUEST = (
    "【延期申请】工单 {number}（{department}）申请将办结时限由 {deadline} 延至 {to}。\n"
    "原因：{reason}"
)
EXTENSION_APPROVED = "工单 {number} 的延期申请已批准，新的办结时限：{to}。"
EXTENSION_REFUSED = "工单 {number} 的延期申请未获批准，请按原时限 {deadline} 办结。"
NOTIFY_EXTENDED = (
    "您反映的问题（工单 {number}）情况较复杂，经批准延期办理。新的承诺办结时限：{deadline}"
)
ALERT_DONE = "已{action}工单 {number}。"

REMIND = "⏰【催办】工单 {number}（{category}）将于 {deadline} 到期，请抓紧办理。"
SUPERVISE = "🔔【督办】工单 {number}（承办：{department}）已超过办结时限 {deadline}，请督促办理。"
OVERDUE_HOLDER = "⚠️ 工单 {number} 已超过办结时限 {deadline}，已通报督办。"
AUTO_ESCALATE_REASON = "超期未办结，自动提级"
RATE_REMINDER = (
    "您反映的问题（工单 {number}）已办结，还没有收到您的回访评价。请点按钮完成回访："
)
AUTOCLOSED = (
    "工单 {number} 办结后 7 天未收到评价，已按「未评价」结单。如问题仍未解决，可重新反映。"
)
REOPEN_SUPERVISE = (
    "【不满意专区】工单 {number}（承办：{department}）反映人不满意，已重办，重办时限 {deadline}。"
)
DISPATCH_NAME = "总平台"

QUEUE_HEADER = "【{name}】待办工单（按办结时限排序）："
QUEUE_LINE = "{flag}{number}｜{status}｜{category}｜时限 {deadline}"
QUEUE_EMPTY = "{name}暂无待办工单。"
QUEUE_REOPENED = "不满意专区（重办）："
QUEUE_ASSISTING = "协办中："
QUEUE_EXTENSIONS = "待审批延期："
QUEUE_MORE = "……另有 {count} 件"
OVERDUE_HEADER = "【{name}】超期工单："
OVERDUE_EMPTY = "{name}暂无超期工单。"
TICKET_USAGE = "用法：/ticket 工单编号，例如 /ticket 20261123-0001"
TICKET_NOT_VISIBLE = "未找到工单 {number}，或该工单与本部门无关。"
TIMELINE_HEADER = "\n\n办理过程："
TIMELINE_LINE = "{time}｜{action}{who}{change}{note}"
NOT_A_STAFF_CHAT = "本群还不是工作人员群：管理员请先发送 /bind_staff（部门名称）。"
RESULT_PHOTO = "工单 {number} 办理结果照片"

# Menus, /help for every kind of chat, and commands sent where they do not belong
BOT_DESCRIPTION = (
    "「回音」接诉即办服务，件件有回音。\n"
    "直接把遇到的问题用文字发给我（什么地方、出了什么问题），我会立即登记并告诉您工单编号，"
    "受理、办结的每一步都会私信通知您，办结后请您评价。"
)
BOT_SHORT_DESCRIPTION = "接诉即办：把问题发给我，立即登记，件件有回音。"
MENU_PRIVATE: tuple[tuple[str, str], ...] = (
    ("start", "开始使用"),
    ("help", "使用帮助"),
    ("my", "我的最近工单"),
    ("status", "查看工单进度：/status 编号"),
    ("cancel", "撤销尚未受理的工单：/cancel 编号"),
    ("mydata", "查看机器人保存的我的个人数据"),
    ("forget", "删除已办结工单中我的个人信息"),
)
MENU_GROUP: tuple[tuple[str, str], ...] = (
    ("help", "本群可用的命令"),
    ("report", "网格员：回复居民的消息，代为上报"),
    ("split", "网格员：回复被合并的消息，拆分为单独工单"),
    ("queue", "工作人员：本部门待办工单"),
    ("overdue", "工作人员：本部门超期工单"),
    ("ticket", "工作人员：查看工单及办理过程"),
)
# A bound chat's own menu (the group-wide one names commands of every kind of group).
MENU_STAFF_CHAT: tuple[tuple[str, str], ...] = (
    ("help", "本群可用的命令"),
    ("queue", "本部门待办工单"),
    ("overdue", "本部门超期工单"),
    ("ticket", "查看工单及办理过程：/ticket 编号"),
    ("stats", "本部门本考核周期的成绩"),
    ("contact", "查看反映人联系方式（须说明原因）：/contact 编号"),
    ("console", "私信获取监督台登录链接"),
    ("people", "本部门工作人员名单"),
)
MENU_GRID_CHAT: tuple[tuple[str, str], ...] = (
    ("help", "本群可用的命令"),
    ("report", "网格员：回复居民的消息，代为上报"),
    ("split", "网格员：回复被合并的消息，拆分为单独工单"),
    ("queue", "网格员：本网格待办工单"),
    ("overdue", "网格员：本网格超期工单"),
    ("people", "本网格网格员名单"),
)
MENU_ADMIN: tuple[tuple[str, str], ...] = (
    ("bind_staff", "管理员：设为工作群（/bind_staff 部门名称）"),
    ("bind_grid", "管理员：设为网格群（/bind_grid 网格名称）"),
    ("add_staff", "管理员：回复某人的消息，登记为工作人员"),
    ("add_worker", "管理员：回复某人的消息，登记为网格员"),
    ("block", "管理员：回复某人的消息，禁止其提交工单"),
    ("unblock", "管理员：回复某人的消息，恢复其提交工单"),
    ("remove_staff", "管理员：回复某人的消息，移出本部门工作人员"),
    ("remove_worker", "管理员：回复某人的消息，移出本网格网格员"),
    ("add_admin", "管理员：回复某人的消息，设为管理员"),
    ("remove_admin", "管理员：回复某人的消息，取消管理员"),
    ("people", "本群的工作人员或网格员名单"),
    ("unbind", "管理员：解除本群的绑定"),
)
HELP_STAFF_PRIVATE = (
    "\n\n【工作人员】新工单以卡片形式推送到您所在部门的工作群，在卡片上点按钮受理、办结、退回等；"
    "在工作群发送 /queue 查看待办、/overdue 查看超期、/ticket 编号 查看办理过程。"
)
HELP_WORKER_PRIVATE = (
    "\n\n【网格员】在网格群里回复居民的消息并发送 /report（或“上报”）即可代为上报；"
    "也可以把居民的消息转发给我。您上报的工单，每一步进展也会告诉您。"
)
HELP_ADMIN_PRIVATE = (
    "\n\n【管理员】把机器人拉进群后在群内发送：/bind_staff（总平台）"
    "或 /bind_staff 部门名称 设为工作群；"
    "/bind_grid 网格名称 设为网格群；回复某人的消息发送 /add_staff、/add_worker 登记人员，"
    "/block 禁止其提交工单。这些命令都要在群里发送。"
)
HELP_STAFF_CHAT = (
    "本群是「{name}」工作群。新工单以卡片推送到这里，点卡片上的按钮办理；"
    "/queue 待办工单，/overdue 超期工单，/ticket 编号 查看办理过程。"
    "需要回复说明时，直接在群里回复机器人的提问即可。"
)
HELP_STAFF_CHAT_NOT_STAFF = (
    "本群是「{name}」工作群。您还不是登记的工作人员：请管理员回复您的一条消息并发送 /add_staff。"
)
HELP_GRID = (
    "本群是网格群「{name}」。在群里说出遇到的问题（什么地方、出了什么问题），"
    "机器人会登记为工单并简短回复编号，办理进展私信告知；私信机器人发送 /my 查看自己的工单。"
)
HELP_GRID_WORKER = (
    "\n【网格员】回复居民的消息并发送 /report（或“上报”）为其登记工单；"
    "回复被合并的消息发送 /split 拆分；机器人询问“是否要反映问题”时，您也可以替居民确认。"
)
HELP_UNBOUND = (
    "本群尚未绑定。管理员可在群内发送 /bind_staff 部门名称"
    "（或只发 /bind_staff 设为总平台）设为工作群，"
    "或发送 /bind_grid 网格名称 设为网格群。"
)
HELP_ADMIN_GROUP = (
    "\n【管理员】/bind_staff 部门名称、/bind_grid 网格名称 绑定本群；回复某人的消息发送 "
    "/add_staff、/add_worker 登记人员，/block 禁止其提交工单。"
)
GROUP_COMMANDS_IN_PRIVATE: dict[str, str] = {
    "bind_staff": (
        "/bind_staff 要在工作人员群里发送：先把我拉进工作群，再由管理员在群内发送 "
        "/bind_staff（设为总平台）或 /bind_staff 部门名称（设为该部门的工作群）。"
    ),
    "bind_grid": (
        "/bind_grid 要在网格群里发送：先把我拉进网格群，再由管理员在群内发送 /bind_grid 网格名称。"
    ),
    "add_staff": (
        "/add_staff 要在工作群里回复那位工作人员的一条消息发送；"
        "也可以在服务器上运行 huiyin staff add。"
    ),
    "add_worker": (
        "/add_worker 要在网格群里回复那位网格员的一条消息发送；"
        "也可以在服务器上运行 huiyin worker add。"
    ),
    "block": "/block 要在网格群里回复那个人的一条消息发送。",
    "report": "/report 要在网格群里回复居民的消息发送；私聊中可以直接把居民的消息转发给我。",
    "split": "/split 要在网格群里回复被合并的那条居民消息发送。",
    "queue": "/queue 要在部门工作群里发送，列出本部门的待办工单。",
    "overdue": "/overdue 要在部门工作群里发送，列出本部门的超期工单。",
    "ticket": "/ticket 编号 要在部门工作群里发送；查看自己反映的工单请用 /status 编号。",
    "unblock": "/unblock 要在群里回复那个人的一条消息发送；也可以运行 huiyin block remove。",
    "remove_staff": "/remove_staff 要在工作群里回复工作人员的消息发送（或 huiyin staff remove）。",
    "remove_worker": "/remove_worker 要在网格群里回复网格员的消息发送（或 huiyin worker remove）",
    "add_admin": "/add_admin 要在群里回复那个人的一条消息发送；也可以运行 huiyin admin add。",
    "remove_admin": "/remove_admin 要在群里回复管理员的消息发送；也可以运行 huiyin admin remove。",
    "unbind": "/unbind 要在需要解除绑定的群里发送。",
    "people": "/people 要在工作群或网格群里发送，列出本群的工作人员或网格员。",
}

# The bot added to or removed from a group
ADDED_TO_GROUP = (
    "大家好，我是「回音」接诉即办机器人。\n"
    "管理员请在本群发送以下命令之一完成设置：\n"
    "/bind_staff 部门名称 —— 设为该部门的工作群（只发 /bind_staff 则设为总平台）\n"
    "/bind_grid 网格名称 —— 设为网格群，群里反映的问题会自动登记\n"
    "发送 /help 查看本群可用的命令。"
)
CANNOT_READ_GROUP = (
    "⚠️⚠️ 注意：我现在看不到本群的普通消息！\n"
    "Telegram 的隐私模式已开启，而我不是本群管理员，所以居民在群里反映的问题、"
    "工作人员回复的说明我都收不到。请任选其一：\n"
    "① 把我设为本群管理员；\n"
    "② 在 @BotFather 发送 /setprivacy，选择 Disable，然后把我移出本群再重新拉进来。"
)
REMOVED_GRID = "网格群「{name}」"
REMOVED_STAFF = "「{name}」工作群"
BOT_REMOVED_NOTICE = (
    "⚠️ 机器人已被移出群「{title}」，该群作为{what}的绑定已解除，发往该群的消息已停止。"
    "如需恢复，请把机器人拉回群里，由管理员重新绑定。"
)

# People over time: remove staff, workers, blocks, bindings; admins
PEOPLE_USAGE: dict[str, str] = {
    "remove_staff": "用法：回复那位工作人员的一条消息并发送 /remove_staff，将其移出本部门。",
    "remove_worker": "用法：在网格群里回复那位网格员的一条消息并发送 /remove_worker。",
    "unblock": "用法：回复被禁止的人的一条消息并发送 /unblock，恢复其提交工单。",
    "add_admin": "用法：回复某人的一条消息并发送 /add_admin，将其设为管理员。",
    "remove_admin": "用法：回复某位管理员的一条消息并发送 /remove_admin。",
}
PEOPLE_DONE: dict[str, str] = {
    "remove_staff": "已将 {name} 移出本部门工作人员。",
    "remove_worker": "已将 {name} 移出本网格网格员。",
    "unblock": "已恢复 {name} 提交工单。",
    "add_admin": "已将 {name} 设为管理员。",
    "remove_admin": "已取消 {name} 的管理员身份。",
}
PEOPLE_UNCHANGED: dict[str, str] = {
    "remove_staff": "{name} 不是本部门的工作人员。",
    "remove_worker": "{name} 不是本网格的网格员。",
    "unblock": "{name} 没有被禁止提交工单。",
    "add_admin": "{name} 已经是管理员。",
    "remove_admin": "{name} 不是管理员（也不能取消自己的管理员身份）。",
}
NOT_BOUND = "本群尚未绑定为工作群或网格群。"
UNBOUND = "已解除本群的绑定：不再推送工单，也不再登记群里反映的问题。"
PEOPLE_STAFF = "「{name}」工作人员："
PEOPLE_WORKERS = "网格「{name}」网格员："
PEOPLE_ADMINS = "管理员："
PEOPLE_BLOCKED = "被禁止提交工单的人："
PEOPLE_LINE = "· {name}（ID {id}）"

# Personal data (PIPL): /mydata and /forget
MYDATA_HEADER = (
    "【您在「回音」的个人数据】\n"
    "Telegram ID：{id}\n名字：{name}\n用户名：{username}\n首次联系：{since}"
)
MYDATA_ROLES = "身份：{roles}"
MYDATA_ROLE_STAFF = "工作人员"
MYDATA_ROLE_ADMIN = "管理员"
MYDATA_ROLE_WORKER = "网格员"
MYDATA_ROLE_BLOCKED = "已被禁止提交工单"
MYDATA_TICKET = "\n工单 {number}（{status}，{at}）：\n{text}"
MYDATA_RATING = "您的评价：{score}；原因：{reason}"
MYDATA_ATTACHMENTS = "附有照片或位置"
MYDATA_NO_TICKETS = "\n您没有反映过问题。"
MYDATA_FOOTER = (
    "\n工作人员看到的是隐去电话、身份证号的内容。办结的工单在保存期限后自动脱敏。"
    "发送 /forget 可删除已办结工单中您的个人信息。"
)
DEIDENTIFIED = "（已按个人信息保护要求删除）"
FORGET_DONE = "已删除 {count} 件已办结工单中您的个人信息（姓名、账号、电话和身份证号）。"
FORGET_KEPT = (
    "\n工单 {numbers} 仍在办理中：办结前需要保留您的联系方式，以便告知进展、请您评价；"
    "办结后再发送 /forget 即可删除。"
)
FORGET_WHAT_STAYS = (
    "\n不含个人信息的统计数据（问题类别、办理时限、评价分数）会保留，"
    "用于接诉即办的考核和公开统计，已无法识别到您。"
)
# Staff handling: prompts, evidence, contact, calendar, grid workers' views
CALENDAR_YEAR_MISSING = (
    "📅 {year} 年的放假调休安排尚未录入。涉及 {year} 年的办理时限已按法定节假日计算"
    "（元旦、春节、清明、劳动节、端午、中秋、国庆），但调休（连休日、周末补班）未计入。"
    "国务院办公厅公布后，请运维人员把 {year} 年的安排加入 HUIYIN_HOLIDAYS_FILE 指定的文件"
    "（格式见 docs/DEADLINES.md）。"
)
PROMPT_EXPIRED = "这个提问已过期，请重新点击工单卡片上的按钮。"
PROMPT_PLACEHOLDERS: dict[str, str] = {
    "resolve": "办理结果（将转告反映人）",
    "return": "退回原因（将转告反映人）",
    "assign": "部门名称",
    "transfer": "部门名称 原因",
    "send_back": "退单原因",
    "assist": "协办部门",
    "extend": "日期 原因",
    "escalate": "提级原因",
    "reveal": "查看原因（将记录在案）",
}
EVIDENCE_PHOTO = "工单 {number} 反映人提供的照片"
EVIDENCE_PLACE = "工单 {number} 反映人提供的位置"
EVIDENCE_PLACE_UNNAMED = "反映人位置"
EVIDENCE_PHOTOS = "照片 {count} 张"
EVIDENCE_PLACES = "位置 {count} 处"
CARD_EVIDENCE = "\n附件：{summary}（已发至本群）"
TIMELINE_PHOTO = "照片（已发至本群）"
TIMELINE_PLACE = "位置 {latitude:.5f},{longitude:.5f}（地图已发至本群）"
CARD_RETIRED = "\n\n⬇️ 此卡片已停用，请在下方最新卡片上操作。"
CARD_EXTENDED = "\n已批准延期（原办结时限 {base}）"
ALERT_RATING_ENDED = "评价期已结束：本次办理已按「未评价」结单。如问题仍未解决，可重新反映。"
BUTTON_CONTACT = "联系方式"
ASK_REVEAL_REASON = "请回复查看工单 {number} 反映人联系方式的原因（将记录在案）："
CONTACT_SHOWN = (
    "工单 {number} 反映人：{name}{username}\n点击姓名可私信联系。\n"
    "查看原因：{reason}（已记录在案）"
)
CONTACT_NO_NAME = "反映人"
CONTACT_CONFIDENTIAL = "工单 {number} 的反映人要求保密，只有总平台可以查看其联系方式。"
CONTACT_NOT_YOURS = "工单 {number} 不由本部门承办或协办，不能查看反映人联系方式。"
CONTACT_USAGE = "用法：/contact 工单编号，例如 /contact 20261123-0001（需说明原因，将记录在案）"
CARD_CONFIDENTIAL = "\n🔒 反映人要求保密（仅总平台可查看联系方式）"
ACK_CONFIDENTIAL = "\n🔒 已按您的要求保密：只有总平台可查看您的身份。"
BUTTON_CONFIDENTIAL = "🔒 保密处理"
BUTTON_NOT_CONFIDENTIAL = "取消保密"
ALERT_CONFIDENTIAL_ON = "已为您保密：承办部门看不到您的身份，只有总平台可以查看。"
ALERT_CONFIDENTIAL_OFF = "已取消保密：承办部门需要时可联系您（查看将记录在案）。"
ALERT_CONFIDENTIAL_NOT_YOURS = "只有反映人本人可以设置保密。"
ALERT_CONFIDENTIAL_LOCKED = "工单已受理，保密不能再取消。"
ALERT_CONFIDENTIAL_CLOSED = "工单已结束，不能再更改保密设置。"
# Intake: an update that failed for good (dead-lettered); operators see it in `huiyin inbox failed`
INBOX_APOLOGY = (
    "抱歉，系统暂时没能处理您的这条消息。我们已记录下来，工作人员会尽快处理；"
    "如情况紧急，请直接拨打 12345 热线。"
)
# A command sent on behalf of a group or channel (anonymous admin): nobody to authorise
ANONYMOUS_SENDER = "无法识别发送人：请关闭「匿名管理员」后，以个人身份重新发送此命令。"
# An edited private message: of a reported message (补充), or one that now describes a problem
SUPPLEMENT_ADDED = "已将您修改后的内容作为补充记入工单 {number}。"
SUPPLEMENT_STAFF = "工单 {number} 反映人补充：{text}"

# Delivery: several new tickets in one message when a staff chat gets more than its
# per-minute ceiling allows (each ticket keeps its own buttons, labelled with its number).
DIGEST_HEADER = "【新工单汇总】本群新工单较多，{count} 件合并为一条："
DIGEST_SEPARATOR = "\n\n——————\n"
DIGEST_BUTTON = "{number}·{action}"
# Several group answers in one message: each line links to the post it answers.
BATCH_ANSWER_POST = "↗原帖"
ONLY_WORKERS_VIEW = "只有本网格的网格员可以查看本网格的工单。"
MY_HANDED_OVER = "（代为上报）"
# In a grid worker's copy of a notice, the resident's wording is re-addressed.
RESIDENT_SUBJECT = "您反映的问题"
WORKER_SUBJECT = "居民反映的问题"
RATE_INVITE = "\n\n请花几秒钟完成回访（共 3 题，点按钮作答）："  # ends NOTIFY_RESOLVED
WORKER_RATE_NOTE = "\n\n（由反映人评价办理结果）"

# Residents' own words (issue 9): one-tap questions in private, corrections that teach the bot
URGENT_NO_WORDS = "危及安全"
ACK_LOCATION_LINE = "地点：{location}\n"
PRIVATE_ASK = "需要登记为诉求吗？\n将按「{category}」登记，并告诉您工单编号和办结时限。"
BUTTON_FILE = "登记"
BUTTON_NO_THANKS = "不用了"
PRIVATE_NOT_FILED = "好的，不登记。有需要反映的问题随时发给我。"
ALERT_NOT_YOUR_QUESTION = "只有提问的本人可以确认。"
ALERT_FILED = "已登记。"
SMALL_TALK_REPLY = (
    "您好！有需要反映的问题，直接把情况发给我就行，例如：“3栋楼道的灯坏了”。\n"
    "查看我的工单：/my　使用帮助：/help"
)
GROUP_LIMIT_PRIVATE = (
    "您这一小时在群里反映的问题已达 {limit} 件的上限，刚才那条消息未登记。"
    "如确有新问题，请稍后再发，或直接私信我描述。"
)
GROUP_LIMIT_THREAD = "本小时提交已达上限，这条消息未登记，请稍后再试。"

ASK_CATEGORY = (
    "工单 {number} 当前分类：{category}\n"
    "请点选正确的分类，或回复本消息写分类名称"
    "（如：冬季采暖，或 城乡建设/城市建设和市政管理/小区管理）："
)
ALERT_ASK_CATEGORY = "请在群内点选或回复正确的分类。"
CATEGORY_UNKNOWN = "未找到分类「{text}」，请写分类名称或完整路径（一级/二级/三级）。"
CATEGORY_AMBIGUOUS = "「{text}」对应多个分类：{matches}。请写得更具体，或写完整路径。"
CATEGORY_SAME = "工单 {number} 已是「{category}」分类。"
STAFF_DONE_RECATEGORIZE = "工单 {number} 分类已更正为「{category}」。"
STAFF_DONE_REROUTED = "工单 {number} 分类已更正为「{category}」，已按分类改由{name}承办。"
NOTICE_RECATEGORIZED = "工单 {number} 分类更正为「{category}」，按分类由{source}改由本部门承办。"
ALERT_NOT_REPORT = "已将工单 {number} 标记为非诉求并关闭。"
NOTIFY_NOT_REPORT = (
    "您在群里的消息（工单 {number}）经工作人员确认不是需要办理的诉求，已关闭。"
    "如确有问题需要反映，请直接私信我描述，我们会登记办理。"
)
CARD_NOT_REPORT = "\n已标记为非诉求，工单关闭"

# 回访 (follow-up): three questions in one message that updates in place
FOLLOWUP_CONTACTED = "承办单位是否联系过您？"
FOLLOWUP_SOLVED = "问题是否解决？"
FOLLOWUP_SATISFIED = "对办理结果是否满意？"
CONTACTED_NAMES: dict[bool, str] = {True: "联系过", False: "没有联系"}
SOLVED_NAMES: dict[str, str] = {
    Solved.RESOLVED: "已解决",
    Solved.PARTIAL: "部分解决",
    Solved.UNRESOLVED: "未解决",
}
FOLLOWUP_LINE = "{n}. {question}{answer}"
FOLLOWUP_ANSWER = " ✅ {answer}"
FOLLOWUP_DONE = "\n\n感谢您的评价（{rating}），工单 {number} 已办结。"
FOLLOWUP_REOPENED = "\n\n工单 {number} 已重新交办（重办）。"
ALERT_ANSWERED = "已记录。"
ALERT_ALREADY_ANSWERED = "这个问题您已经回答过了。"

# The web console (控制台)
CONSOLE_LINK = "回音控制台登录链接（{minutes} 分钟内有效，仅可使用一次，请勿转发）：\n{url}"
CONSOLE_SENT = "已私信发送控制台登录链接。如未收到，请先私聊机器人发送 /start 后重试。"
CONSOLE_NOT_STAFF = "只有登记的工作人员可以登录控制台。"
CONSOLE_NOT_CONFIGURED = "网页控制台尚未配置访问地址（HUIYIN_CONSOLE_URL），请联系管理员。"

# The weekly report (周报) and /stats
REPORT_SUMMARY = (
    "【回音周报】{first} 至 {last}\n"
    "{score_name} {score}{score_change}\n"
    "{rates}\n"
    "登记 {tickets} 件，有效回访 {followups} 件，超期 {overdue} 件（上周 {overdue_before} 件）\n"
    "前三名：{best}\n"
    "后三名：{worst}\n"
    "各部门明细见附件。"
)
REPORT_CHANGE = "（较上周 {delta}）"
REPORT_NO_CHANGE = ""
REPORT_NONE = "（暂无有效回访）"
REPORT_DEPT = (
    "【{name} 周报】{first} 至 {last}\n"
    "{score_name} {score}（{place}）{score_change}\n"
    "{rates}\n"
    "登记 {tickets} 件，有效回访 {followups} 件，超期 {overdue} 件，按时办结率 {on_time}"
)
REPORT_DEPT_EMPTY = "【{name} 周报】{first} 至 {last}\n本周没有登记或完成回访的工单。"
REPORT_PLACE = "第 {rank} 名，共 {of} 个部门"
REPORT_UNRANKED = "有效回访不足，不参与排名"
REPORT_ATTACHMENT = "回音周报 {first} 至 {last}：部门排名"
STATS = (
    "【{name}】本考核周期 {first} 至 {last}\n"
    "{score_name} {score}（{band}）\n"
    "{rates}\n"
    "登记 {tickets} 件，有效回访 {followups} 件，超期 {overdue} 件，"
    "按时办结率 {on_time}，未评价率 {unrated}"
)
DATE_NOT_WORKDAY = "{day} 不是工作日（周末或法定节假日），请改为工作日，例如 {next}。"
