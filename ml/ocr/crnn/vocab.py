"""Lab-report vocabulary the synthetic lines are drawn from.

Broader than the blood count on purpose: the report generator grows panels (blood
pressure, glucose, HbA1c, liver, kidney, lipids, urine, electrolytes), and real reports
print these names, units, ranges and header labels. Every character here is in the
charset whatever its general frequency.
"""

from ml.labreport.cbc_items import CBC_ITEMS

# (Chinese name, abbreviation, unit) of items beyond the blood count.
PANEL_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("收缩压", "SBP", "mmHg"),
    ("舒张压", "DBP", "mmHg"),
    ("心率", "HR", "次/分"),
    ("空腹血糖", "GLU", "mmol/L"),
    ("餐后2小时血糖", "2hPG", "mmol/L"),
    ("随机血糖", "GLU", "mmol/L"),
    ("葡萄糖", "GLU", "mmol/L"),
    ("糖化血红蛋白", "HbA1c", "%"),
    ("糖化白蛋白", "GA", "%"),
    ("胰岛素", "INS", "μIU/mL"),
    ("C肽", "C-P", "ng/mL"),
    ("丙氨酸氨基转移酶", "ALT", "U/L"),
    ("天门冬氨酸氨基转移酶", "AST", "U/L"),
    ("谷丙转氨酶", "ALT", "U/L"),
    ("谷草转氨酶", "AST", "U/L"),
    ("谷草/谷丙", "AST/ALT", ""),
    ("碱性磷酸酶", "ALP", "U/L"),
    ("γ-谷氨酰转移酶", "GGT", "U/L"),
    ("谷氨酰转肽酶", "GGT", "U/L"),
    ("总蛋白", "TP", "g/L"),
    ("白蛋白", "ALB", "g/L"),
    ("球蛋白", "GLB", "g/L"),
    ("白球比", "A/G", ""),
    ("总胆红素", "TBIL", "μmol/L"),
    ("直接胆红素", "DBIL", "μmol/L"),
    ("间接胆红素", "IBIL", "μmol/L"),
    ("总胆汁酸", "TBA", "μmol/L"),
    ("乳酸脱氢酶", "LDH", "U/L"),
    ("肌酸激酶", "CK", "U/L"),
    ("肌酸激酶同工酶", "CK-MB", "U/L"),
    ("肌酐", "CREA", "μmol/L"),
    ("肌酐", "Cr", "μmol/L"),
    ("尿素", "UREA", "mmol/L"),
    ("尿素氮", "BUN", "mmol/L"),
    ("尿酸", "UA", "μmol/L"),
    ("胱抑素C", "Cys-C", "mg/L"),
    ("估算肾小球滤过率", "eGFR", "mL/min/1.73m²"),
    ("β2微球蛋白", "β2-MG", "mg/L"),
    ("总胆固醇", "TC", "mmol/L"),
    ("甘油三酯", "TG", "mmol/L"),
    ("高密度脂蛋白胆固醇", "HDL-C", "mmol/L"),
    ("低密度脂蛋白胆固醇", "LDL-C", "mmol/L"),
    ("载脂蛋白A1", "ApoA1", "g/L"),
    ("载脂蛋白B", "ApoB", "g/L"),
    ("脂蛋白(a)", "Lp(a)", "mg/L"),
    ("钾", "K", "mmol/L"),
    ("钠", "Na", "mmol/L"),
    ("氯", "Cl", "mmol/L"),
    ("钙", "Ca", "mmol/L"),
    ("镁", "Mg", "mmol/L"),
    ("无机磷", "P", "mmol/L"),
    ("二氧化碳结合力", "CO2CP", "mmol/L"),
    ("血清铁", "Fe", "μmol/L"),
    ("铁蛋白", "FER", "ng/mL"),
    ("超敏C反应蛋白", "hs-CRP", "mg/L"),
    ("C反应蛋白", "CRP", "mg/L"),
    ("降钙素原", "PCT", "ng/mL"),
    ("红细胞沉降率", "ESR", "mm/h"),
    ("同型半胱氨酸", "HCY", "μmol/L"),
    ("促甲状腺激素", "TSH", "mIU/L"),
    ("游离甲状腺素", "FT4", "pmol/L"),
    ("游离三碘甲状腺原氨酸", "FT3", "pmol/L"),
    ("凝血酶原时间", "PT", "s"),
    ("国际标准化比值", "INR", ""),
    ("活化部分凝血活酶时间", "APTT", "s"),
    ("纤维蛋白原", "FIB", "g/L"),
    ("D-二聚体", "D-D", "mg/L"),
    ("尿蛋白", "PRO", ""),
    ("尿糖", "GLU", ""),
    ("尿酮体", "KET", ""),
    ("尿潜血", "BLD", ""),
    ("尿比重", "SG", ""),
    ("酸碱度", "pH", ""),
    ("尿白细胞", "LEU", "/μL"),
    ("亚硝酸盐", "NIT", ""),
    ("尿胆原", "URO", "μmol/L"),
    ("胆红素", "BIL", ""),
    ("镜检红细胞", "RBC", "/HP"),
    ("镜检白细胞", "WBC", "/HP"),
    ("有核红细胞", "NRBC", "%"),
    ("网织红细胞", "RET", "%"),
    ("大血小板比率", "P-LCR", "%"),
    ("红细胞分布宽度标准差", "RDW-SD", "fL"),
    ("红细胞分布宽度变异系数", "RDW-CV", "%"),
    ("癌胚抗原", "CEA", "ng/mL"),
    ("甲胎蛋白", "AFP", "ng/mL"),
    ("乙肝表面抗原", "HBsAg", "IU/mL"),
)

UNITS: tuple[str, ...] = (
    "10^9/L", "10^12/L", "×10^9/L", "×10^12/L", "10*9/L", "10*12/L", "x10^9/L", "10⁹/L", "10¹²/L",
    "g/L", "g/dL", "mg/L", "mg/dL", "mmol/L", "μmol/L", "umol/L", "nmol/L", "pmol/L", "%", "fL", "pg",
    "U/L", "IU/L", "mIU/L", "μIU/mL", "ng/mL", "ng/L", "pg/mL", "mmHg", "kPa", "mm/h", "s", "次/分",
    "mL/min", "mL/min/1.73m²", "/HP", "/μL", "/LP", "个/μL", "cells/μL", "mOsm/kg", "mm³", "cm", "kg",
)

FLAGS: tuple[str, ...] = ("↑", "↓", "H", "L", "N", "↑↑", "↓↓", "*", "偏高", "偏低", "正常", "阳性", "阴性",
                          "(+)", "(-)", "(±)", "+", "-", "++", "+++", "弱阳性", "危急值", "异常")

# Column headers, header labels and footer phrases as printed on report sheets.
LABELS: tuple[str, ...] = (
    "序号", "项目", "项目名称", "检验项目", "代号", "英文缩写", "结果", "检验结果", "测定值", "标志", "提示", "单位",
    "参考范围", "参考值", "参考区间", "生物参考区间", "检测方法", "姓名", "性别", "年龄", "科室", "病区", "床号",
    "病历号", "住院号", "门诊号", "样本号", "标本号", "条码号", "样本类型", "标本类型", "标本种类", "全血", "血清",
    "血浆", "尿液", "静脉血", "末梢血", "送检医生", "申请医生", "临床诊断", "诊断", "备注", "采集时间", "采样时间",
    "接收时间", "报告时间", "检验时间", "审核时间", "检验者", "审核者", "检验医师", "审核医师", "检验科",
    "医院检验报告单", "检验报告单", "检验报告", "血常规", "血常规（五分类）", "全血细胞分析", "血细胞分析",
    "肝功能", "肾功能", "血脂", "血脂四项", "血糖", "电解质", "尿常规", "凝血功能", "甲状腺功能", "生化全套",
    "心肌酶谱", "血压", "男", "女", "岁", "月", "天", "医生", "某", "第1页", "共1页", "页码", "打印时间",
    "本报告仅对所检测标本负责，如有疑问请在三日内与检验科联系。", "仅对本次标本负责", "结果仅供临床参考",
    "内科门诊", "外科门诊", "急诊科", "儿科", "体检中心", "心内科", "消化内科", "内分泌科", "肾内科", "妇产科",
    "神经内科", "呼吸内科", "骨科", "眼科", "皮肤科", "感染科", "门诊", "住院", "急诊", "人民医院", "中心医院",
    "第一人民医院", "附属医院", "妇幼保健院", "中医院", "社区卫生服务中心", "仁和", "协和", "华山", "同济",
    "中山", "湘雅", "齐鲁", "华西", "省立", "市立", "电话", "地址", "签名", "日期", "样本状态", "正常", "溶血",
    "脂血", "黄疸", "仪器", "迈瑞", "希森美康", "贝克曼", "罗氏", "雅培", "西门子", "日立",
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美淑惠珠翠雅芝玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛瑞凡佳嘉琼桂娣叶璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽峰浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘"

CBC_NAMES: tuple[str, ...] = tuple(item.name for item in CBC_ITEMS)
CBC_CODES: tuple[str, ...] = tuple(item.code for item in CBC_ITEMS)
PANEL_NAMES: tuple[str, ...] = tuple(name for name, _code, _unit in PANEL_ITEMS)
PANEL_CODES: tuple[str, ...] = tuple(code for _name, code, _unit in PANEL_ITEMS)

# Extra report-specific characters that must never be missing.
EXTRA_CJK = "血常规检验报告单仁和协华山同济中心第一人民医院五分类姓名性别年龄科室病历号样本送医生床型全采集接收时间审核者本仅对所测标负责如有疑问请在三日内与联系某岁男女结果标志单位参考范围项目序"


def vocabulary_text() -> str:
    """Every string above joined, for collecting the characters the charset must hold."""
    parts = [*CBC_NAMES, *CBC_CODES, *PANEL_NAMES, *PANEL_CODES, *UNITS, *FLAGS, *LABELS, SURNAMES, GIVEN, EXTRA_CJK]
    parts += [item.unit for item in CBC_ITEMS]
    return "".join(parts)
